"use client";
// Radix tabs styled once. With urlParam the open tab is kept in the page's
// URL (the first tab leaves it out), and switching tabs drops the parameters
// named in clearParams (a search typed in the tab being left).

import * as T from "@radix-ui/react-tabs";
import { useSearchParams } from "next/navigation";
import type { ReactNode } from "react";
import { useReplaceParams } from "@/lib/hooks";

interface TabsProps {
  tabs: { value: string; label: string; content: ReactNode }[];
  value?: string;
  onChange?: (v: string) => void;
  label: string;
}

export function Tabs({ urlParam, clearParams = [], ...props }: TabsProps & { urlParam?: string; clearParams?: string[] }) {
  if (!urlParam) return <PlainTabs {...props} />;
  return <URLTabs urlParam={urlParam} clearParams={clearParams} {...props} />;
}

function URLTabs({ urlParam, clearParams, tabs, label }: TabsProps & { urlParam: string; clearParams: string[] }) {
  const sp = useSearchParams();
  const replaceParams = useReplaceParams();
  const want = sp?.get(urlParam);
  const value = tabs.some((t) => t.value === want) ? want! : tabs[0]?.value;
  const onChange = (v: string) => {
    const set: Record<string, string | null> = { [urlParam]: v === tabs[0]?.value ? null : v };
    for (const p of clearParams) set[p] = null;
    replaceParams(set);
  };
  return <PlainTabs tabs={tabs} value={value} onChange={onChange} label={label} />;
}

function PlainTabs({ tabs, value, onChange, label }: TabsProps) {
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
