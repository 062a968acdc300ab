"use client";

import { useSearchParams } from "next/navigation";
import { Suspense } from "react";
import { CweBrowse, CweDetail, CweView } from "@/components/cwe/Cwe";
import { Skeleton } from "@/components/ui";

function CwePage() {
  const sp = useSearchParams();
  const id = sp?.get("id");
  const view = sp?.get("view");
  if (id) return <CweDetail id={id} />;
  if (view) return <CweView id={view} />;
  return <CweBrowse />;
}

export default function Page() {
  return (
    <Suspense fallback={<Skeleton rows={6} />}>
      <CwePage />
    </Suspense>
  );
}
