"use client";
// Overview: what is stored, what runs, where to go next.

import Link from "next/link";
import { TABS } from "@/components/Nav";
import { PageTitle, Stat } from "@/components/ui";
import { formatNumber } from "@/lib/format";
import { useRPC } from "@/lib/hooks";

const DESCRIPTIONS: Record<string, string> = {
  "/cve": "Search CVEs and follow one to its weaknesses, attack patterns and ATT&CK techniques.",
  "/cwe": "Browse the CWE weakness catalogue, its relationships and views.",
  "/capec": "Browse CAPEC attack patterns and what they exploit.",
  "/attack": "The ATT&CK matrix per domain, techniques, mitigations, software and groups.",
  "/jobs": "Start, pause, resume and stop sync sessions and watch their progress.",
  "/etl": "The ETL engine's state machines, permits, checkpoints and kernel metrics.",
  "/system": "Host and per-process metrics, restarts and message statistics.",
};

function Count<T>({ label, target, method, pick }: { label: string; target: "local" | "broker"; method: string; pick: (d: T) => number | undefined }) {
  const q = useRPC<T>(target, method, method.startsWith("RPCList") && target === "local" ? { limit: 1 } : undefined);
  const v = q.data ? pick(q.data) : undefined;
  return <Stat label={label} value={q.isPending ? "…" : q.isError ? "n/a" : formatNumber(v)} hint={q.isError ? "not available" : undefined} />;
}

export default function Home() {
  return (
    <>
      <PageTitle sub="A local, linked copy of CVE, CWE, CAPEC and ATT&CK.">v2e</PageTitle>
      <div className="mb-6 grid grid-cols-2 gap-3 md:grid-cols-5">
        <Count label="CVEs" target="local" method="RPCCountCVEs" pick={(d: { count: number }) => d.count} />
        <Count label="CWEs" target="local" method="RPCListCWEs" pick={(d: { total: number }) => d.total} />
        <Count label="CAPECs" target="local" method="RPCListCAPECs" pick={(d: { total: number }) => d.total} />
        <Count label="ATT&CK techniques" target="local" method="RPCListAttackTechniques" pick={(d: { total: number }) => d.total} />
        <Count label="Processes" target="broker" method="RPCListProcesses" pick={(d: { processes: unknown[] }) => d.processes?.length} />
      </div>
      <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
        {TABS.map((t) => (
          <li key={t.href}>
            <Link href={t.href} className="block h-full rounded-lg border border-slate-200 bg-white p-4 shadow-sm hover:border-blue-400">
              <div className="font-semibold text-slate-900">{t.label}</div>
              <p className="mt-1 text-sm text-slate-600">{DESCRIPTIONS[t.href]}</p>
            </Link>
          </li>
        ))}
      </ul>
    </>
  );
}
