"use client";

import { useSearchParams } from "next/navigation";
import { Suspense } from "react";
import { AttackBrowse, ObjectDetail, TechniqueDetail } from "@/components/attack/Attack";
import { Skeleton } from "@/components/ui";

function AttackPage() {
  const sp = useSearchParams();
  const id = sp?.get("id");
  if (id) return <TechniqueDetail id={id} />;
  for (const kind of ["tactic", "mitigation", "software", "group", "campaign"]) {
    const v = sp?.get(kind);
    if (v) return <ObjectDetail kind={kind} id={v} />;
  }
  return <AttackBrowse />;
}

export default function Page() {
  return (
    <Suspense fallback={<Skeleton rows={6} />}>
      <AttackPage />
    </Suspense>
  );
}
