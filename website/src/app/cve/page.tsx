"use client";

import { useSearchParams } from "next/navigation";
import { Suspense } from "react";
import { CveDetail } from "@/components/cve/Detail";
import { CveSearch } from "@/components/cve/Search";
import { PageTitle, Skeleton } from "@/components/ui";

function CvePage() {
  const id = useSearchParams()?.get("id");
  if (id) return <CveDetail id={id} />;
  return (
    <>
      <PageTitle sub="CVE records stored locally (NVD API 2.0), searchable by text, score, weakness, product and dates.">Vulnerabilities (CVE)</PageTitle>
      <CveSearch />
    </>
  );
}

export default function Page() {
  return (
    <Suspense fallback={<Skeleton rows={6} />}>
      <CvePage />
    </Suspense>
  );
}
