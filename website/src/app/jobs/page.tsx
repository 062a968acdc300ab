"use client";

import { Jobs } from "@/components/jobs/Jobs";

export default function Page() {
  return <Jobs />;
}
