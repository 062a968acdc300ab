"use client";

import { System } from "@/components/system/System";

export default function Page() {
  return <System />;
}
