"use client";
// Radix tabs styled once.

import * as T from "@radix-ui/react-tabs";
import type { ReactNode } from "react";

export function Tabs({ tabs, value, onChange, label }: { tabs: { value: string; label: string; content: ReactNode }[]; value?: string; onChange?: (v: string) => void; label: string }) {
  return (
    <T.Root value={value} defaultValue={value ? undefined : tabs[0]?.value} onValueChange={onChange}>
      <T.List aria-label={label} className="mb-4 flex gap-1 overflow-x-auto border-b border-slate-200">
        {tabs.map((t) => (
          <T.Trigger
            key={t.value}
            value={t.value}
            className="whitespace-nowrap border-b-2 border-transparent px-3 py-2 text-sm font-medium text-slate-600 hover:text-slate-900 data-[state=active]:border-blue-600 data-[state=active]:text-blue-700"
          >
            {t.label}
          </T.Trigger>
        ))}
      </T.List>
      {tabs.map((t) => (
        <T.Content key={t.value} value={t.value} className="focus:outline-none">
          {t.content}
        </T.Content>
      ))}
    </T.Root>
  );
}
