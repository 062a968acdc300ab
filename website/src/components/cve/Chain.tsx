"use client";
// The chain CVE → CWE → CAPEC → ATT&CK. First what local's RPCGetRelated
// answers for the CVE's URN; then the same chain followed through the
// catalogues (CWE's related attack patterns, CAPEC's ATT&CK mappings).

import { useQueries } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { Badge, Card, ErrorState, Skeleton } from "@/components/ui";
import { normalizeCAPEC, normalizeCWE } from "@/lib/format";
import { useRPC } from "@/lib/hooks";
import { rpc } from "@/lib/rpc";

interface Related {
  [k: string]: unknown;
}

/** hrefOf links a related id or URN to its page. */
export function hrefOf(idOrUrn: string): string | undefined {
  const id = idOrUrn.includes("::") ? idOrUrn.split("::").at(-1)! : idOrUrn;
  if (/^CVE-\d+-\d+$/i.test(id)) return `/cve?id=${id.toUpperCase()}`;
  if (/^CWE-\d+$/i.test(id)) return `/cwe?id=${id.toUpperCase()}`;
  if (/^CAPEC-\d+$/i.test(id)) return `/capec?id=${id.toUpperCase()}`;
  if (/^T\d{4}(\.\d{3})?$/i.test(id)) return `/attack?id=${id.toUpperCase()}`;
  if (/^TA\d{4}$/i.test(id)) return `/attack?tactic=${id.toUpperCase()}`;
  const m = /^([MGSC])\d{4}$/i.exec(id);
  if (m) return `/attack?${{ M: "mitigation", G: "group", S: "software", C: "campaign" }[m[1].toUpperCase()]}=${id.toUpperCase()}`;
  return undefined;
}

/** relatedItems flattens an RPCGetRelated payload into ids or URNs, whatever its grouping. */
export function relatedItems(payload: unknown): { id: string; label?: string }[] {
  const out: { id: string; label?: string }[] = [];
  const seen = new Set<string>();
  const walk = (v: unknown, depth: number) => {
    if (depth > 6 || v == null) return;
    if (typeof v === "string") {
      if ((v.startsWith("v2e::") || hrefOf(v)) && !seen.has(v)) {
        seen.add(v);
        out.push({ id: v });
      }
      return;
    }
    if (Array.isArray(v)) return v.forEach((x) => walk(x, depth + 1));
    if (typeof v === "object") {
      const o = v as Record<string, unknown>;
      const id = (o.urn ?? o.id ?? o.targetUrn ?? o.target) as string | undefined;
      if (typeof id === "string" && (id.startsWith("v2e::") || hrefOf(id))) {
        if (!seen.has(id)) {
          seen.add(id);
          out.push({ id, label: (o.name ?? o.title) as string | undefined });
        }
      }
      for (const [k, x] of Object.entries(o)) if (k !== "urn" && k !== "id") walk(x, depth + 1);
    }
  };
  walk(payload, 0);
  return out;
}

function RelatedLink({ id, label }: { id: string; label?: string }) {
  const href = hrefOf(id);
  const short = id.includes("::") ? id.split("::").at(-1)! : id;
  const inner = (
    <>
      <span className="font-mono">{short}</span>
      {label && <span className="ml-1 text-slate-600">{label}</span>}
    </>
  );
  return href ? (
    <Link href={href} className="text-blue-700 hover:underline" data-testid={/^T\d/.test(short) ? "chain-attack-link" : undefined}>
      {inner}
    </Link>
  ) : (
    inner
  );
}

export function Chain({ cveId, cwes }: { cveId: string; cwes: string[] }) {
  const related = useRPC<Related>("local", "RPCGetRelated", { urn: `v2e::nvd::cve::${cveId}` });
  return (
    <Card title="Chain to CAPEC and ATT&CK" id="chain">
      <div className="space-y-4">
        <div>
          <h3 className="mb-1 text-sm font-semibold text-slate-700">Related records (RPCGetRelated)</h3>
          {related.isPending ? (
            <Skeleton rows={2} />
          ) : related.isError ? (
            <ErrorState error={related.error} />
          ) : (
            <RelatedList payload={related.data} />
          )}
        </div>
        <div>
          <h3 className="mb-1 text-sm font-semibold text-slate-700">Through the catalogues</h3>
          {cwes.length === 0 ? (
            <p className="text-sm text-slate-500">This CVE names no CWE, so there is no chain to follow.</p>
          ) : (
            <ul className="space-y-3">
              {cwes.map((c) => (
                <CweLink key={c} id={c} />
              ))}
            </ul>
          )}
        </div>
      </div>
    </Card>
  );
}

const GROUP_LABELS: Record<string, string> = {
  cves: "CVEs",
  cwes: "Weaknesses (CWE)",
  capecs: "Attack patterns (CAPEC)",
  techniques: "ATT&CK techniques",
  mitigations: "ATT&CK mitigations",
  groups: "Groups",
  software: "Software",
  campaigns: "Campaigns",
};

interface RelatedItem {
  id?: string;
  urn?: string;
  name?: string;
  via?: string;
}

/** RelatedList shows RPCGetRelated's groups ({cwes:[{id,name,via}], capecs, techniques, …}); any other shape is flattened. */
function RelatedList({ payload }: { payload: unknown }) {
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const groups = payload && typeof payload === "object" ? Object.entries(payload as Record<string, unknown>).filter(([, v]) => Array.isArray(v)) : [];
  if (groups.length === 0) {
    const items = relatedItems(payload);
    if (items.length === 0) return <p className="text-sm text-slate-500">No related records.</p>;
    return (
      <ul className="flex flex-wrap gap-x-4 gap-y-1 text-sm" data-testid="related">
        {items.map((it) => (
          <li key={it.id}>
            <RelatedLink id={it.id} label={it.label} />
          </li>
        ))}
      </ul>
    );
  }
  return (
    <dl className="space-y-2 text-sm" data-testid="related">
      {groups.map(([key, v]) => {
        const items = (v as RelatedItem[]).filter((x) => x && (x.id || x.urn));
        const shown = open[key] ? items : items.slice(0, 12);
        return (
          <div key={key} className="grid gap-1 sm:grid-cols-[12rem_1fr]">
            <dt className="font-medium text-slate-700">
              {GROUP_LABELS[key] ?? key} <span className="text-slate-400">({items.length})</span>
            </dt>
            <dd>
              {items.length === 0 ? (
                <span className="text-slate-400">none</span>
              ) : (
                <ul className="flex flex-wrap gap-x-3 gap-y-1">
                  {shown.map((x, i) => (
                    <li key={`${x.id ?? x.urn}-${i}`} title={x.via ? `via ${x.via}` : undefined}>
                      <RelatedLink id={x.id ?? x.urn!} label={key === "techniques" || key === "cwes" ? x.name : undefined} />
                    </li>
                  ))}
                  {items.length > shown.length && (
                    <li>
                      <button type="button" className="text-xs text-blue-700 underline" onClick={() => setOpen({ ...open, [key]: true })}>
                        {items.length - shown.length} more
                      </button>
                    </li>
                  )}
                </ul>
              )}
            </dd>
          </div>
        );
      })}
    </dl>
  );
}

interface Cwe {
  id: string;
  name: string;
  relatedAttackPatterns?: string[];
}

type CapecBrief = { id: string; name: string; attackTechniques?: string[] };

function CweLink({ id }: { id: string }) {
  const q = useRPC<{ cwe: Cwe }>("local", "RPCGetCWEByID", { cweId: id });
  const capecIds = (q.data?.cwe.relatedAttackPatterns ?? []).slice(0, 80).map((c) => normalizeCAPEC(String(c)));
  const capecs = useQueries({
    queries: capecIds.map((c) => ({
      queryKey: ["local", "RPCGetCAPECByID", { capecId: c }],
      queryFn: ({ signal }: { signal: AbortSignal }) => rpc<{ capec: CapecBrief }>("local", "RPCGetCAPECByID", { capecId: c }, { signal }),
      retry: false,
      staleTime: 60_000,
    })),
  });
  // Patterns that reach ATT&CK first, then the others by id.
  const rows = capecIds
    .map((c, i) => ({ id: c, q: capecs[i] }))
    .sort((a, b) => (b.q?.data?.capec.attackTechniques?.length ? 1 : 0) - (a.q?.data?.capec.attackTechniques?.length ? 1 : 0));
  const withAttack = rows.filter((r) => r.q?.data?.capec.attackTechniques?.length).length;
  return (
    <li className="rounded border border-slate-200 p-2 text-sm" data-testid="chain-cwe">
      <Link href={`/cwe?id=${normalizeCWE(id)}`} className="font-mono text-blue-700 hover:underline">
        {normalizeCWE(id)}
      </Link>{" "}
      {q.data && <span>{q.data.cwe.name}</span>}
      {q.isPending && <Skeleton rows={1} />}
      {q.isError && <ErrorState error={q.error} />}
      {q.data && (
        <>
          <p className="mt-1 text-xs text-slate-500">
            {capecIds.length} related attack pattern{capecIds.length === 1 ? "" : "s"}, {withAttack} mapped to ATT&CK
          </p>
          <ul className="ml-4 mt-2 space-y-1.5 border-l border-slate-200 pl-3">
            {capecIds.length === 0 && <li className="text-slate-500">No related attack pattern.</li>}
            {rows.map(({ id: c, q: cq }) => (
              <li key={c} data-testid="chain-capec">
                <Link href={`/capec?id=${c}`} className="font-mono text-blue-700 hover:underline">
                  {c}
                </Link>{" "}
                {cq?.data && <span>{cq.data.capec.name}</span>}
                {cq?.isError && <span className="text-xs text-red-700"> ({cq.error.message})</span>}
                {!!cq?.data?.capec.attackTechniques?.length && (
                  <span className="ml-2 inline-flex flex-wrap gap-1 align-middle">
                    {cq.data.capec.attackTechniques.map((t) => (
                      <Link key={t} href={`/attack?id=${t}`} data-testid="chain-attack-link">
                        <Badge className="bg-violet-100 text-violet-800 hover:bg-violet-200">ATT&CK {t}</Badge>
                      </Link>
                    ))}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </li>
  );
}
