"use client";

import { useSearchParams } from "next/navigation";
import { Suspense } from "react";
import { CapecBrowse, CapecDetail } from "@/components/capec/Capec";
import { Skeleton } from "@/components/ui";

function CapecPage() {
  const id = useSearchParams()?.get("id");
  return id ? <CapecDetail id={id} /> : <CapecBrowse />;
}

export default function Page() {
  return (
    <Suspense fallback={<Skeleton rows={6} />}>
      <CapecPage />
    </Suspense>
  );
}
