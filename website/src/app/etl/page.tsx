"use client";

import { Etl } from "@/components/etl/Etl";

export default function Page() {
  return <Etl />;
}
