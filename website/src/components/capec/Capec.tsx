"use client";
// CAPEC: catalogue metadata, the pattern list and search, a pattern page
// with its related weaknesses and ATT&CK techniques.

import Link from "next/link";
import { CatalogList } from "@/components/Catalog";
import { Badge, Card, Empty, PageTitle, Query, Stat, Table } from "@/components/ui";
import { formatNumber, normalizeCAPEC, normalizeCWE, truncate } from "@/lib/format";
import { useRPC } from "@/lib/hooks";

interface CapecSummary {
  id: string;
  name: string;
  kind?: string;
  abstraction?: string;
  status?: string;
  likelihood?: string;
  severity?: string;
  description?: string;
}

interface Capec extends CapecSummary {
  extendedDescription?: string;
  prerequisites?: string[];
  skills?: { level: string; description?: string }[];
  executionFlow?: { step: number; phase: string; description: string; techniques?: string[] }[];
  consequences?: { scope: string[]; impact?: string[]; note?: string }[];
  mitigations?: string[];
  relatedWeaknesses?: string[];
  attackTechniques?: string[];
  relatedAttackPatterns?: { nature: string; capecId: string }[];
  exampleInstances?: string[];
}

function Meta() {
  const q = useRPC<{ version: string; releaseDate: string; totalCount: number }>("local", "RPCGetCAPECCatalogMeta");
  return (
    <Query q={q} rows={2}>
      {(m) => (
        <div className="mb-4 grid grid-cols-3 gap-3" data-testid="capec-meta">
          <Stat label="Catalogue version" value={m.version || "—"} />
          <Stat label="Released" value={m.releaseDate || "—"} />
          <Stat label="Attack patterns" value={formatNumber(m.totalCount)} />
        </div>
      )}
    </Query>
  );
}

export function CapecBrowse() {
  return (
    <>
      <PageTitle sub="MITRE's Common Attack Pattern Enumeration and Classification.">Attack patterns (CAPEC)</PageTitle>
      <Meta />
      <Card title="Attack patterns">
        <CatalogList<CapecSummary>
          spec={{
            target: "local",
            method: "RPCListCAPECs",
            key: "capecs",
            placeholder: "Search attack patterns, e.g. injection or CAPEC-66",
            render: (items) => (
              <Table head={["CAPEC", "Name", "Abstraction", "Likelihood", "Severity"]} caption="CAPEC list">
                {items.map((c) => (
                  <tr key={c.id} data-testid="capec-row">
                    <td className="whitespace-nowrap px-2 py-2 font-mono">
                      <Link href={`/capec?id=${normalizeCAPEC(c.id)}`} className="text-blue-700 hover:underline">
                        {normalizeCAPEC(c.id)}
                      </Link>
                    </td>
                    <td className="px-2 py-2">
                      {c.name}
                      {c.description && <div className="text-xs text-slate-500">{truncate(c.description, 160)}</div>}
                    </td>
                    <td className="px-2 py-2 text-xs">{c.abstraction}</td>
                    <td className="px-2 py-2 text-xs">{c.likelihood}</td>
                    <td className="px-2 py-2 text-xs">{c.severity}</td>
                  </tr>
                ))}
              </Table>
            ),
          }}
        />
      </Card>
    </>
  );
}

export function CapecDetail({ id }: { id: string }) {
  const q = useRPC<{ capec: Capec }>("local", "RPCGetCAPECByID", { capecId: id });
  return (
    <div className="space-y-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link href="/capec" className="text-blue-700 hover:underline">
          CAPEC
        </Link>{" "}
        / <span className="font-mono">{normalizeCAPEC(id)}</span>
      </nav>
      <Query q={q} rows={10}>
        {({ capec: c }) => (
          <>
            <PageTitle sub={[c.abstraction, c.status, c.likelihood && `likelihood: ${c.likelihood}`, c.severity && `severity: ${c.severity}`].filter(Boolean).join(" · ")}>
              <span className="font-mono" data-testid="capec-id">
                {normalizeCAPEC(c.id)}
              </span>{" "}
              {c.name}
            </PageTitle>
            <Card title="Description">
              <p className="whitespace-pre-line text-sm">{c.description}</p>
              {c.extendedDescription && <p className="mt-2 whitespace-pre-line text-sm text-slate-700">{c.extendedDescription}</p>}
            </Card>
            <div className="grid gap-4 lg:grid-cols-2">
              <Card title="Related weaknesses (CWE)">
                {!c.relatedWeaknesses?.length ? (
                  <Empty>None listed.</Empty>
                ) : (
                  <ul className="flex flex-wrap gap-2 text-sm">
                    {c.relatedWeaknesses.map((w) => (
                      <li key={w}>
                        <Link href={`/cwe?id=${normalizeCWE(String(w))}`} className="font-mono text-blue-700 hover:underline">
                          {normalizeCWE(String(w))}
                        </Link>
                      </li>
                    ))}
                  </ul>
                )}
              </Card>
              <Card title="ATT&CK techniques">
                {!c.attackTechniques?.length ? (
                  <Empty>No ATT&CK mapping.</Empty>
                ) : (
                  <ul className="flex flex-wrap gap-2 text-sm">
                    {c.attackTechniques.map((t) => (
                      <li key={t}>
                        <Link data-testid="capec-attack-link" href={`/attack?id=${t}`} className="font-mono text-blue-700 hover:underline">
                          {t}
                        </Link>
                      </li>
                    ))}
                  </ul>
                )}
              </Card>
            </div>
            {!!c.executionFlow?.length && (
              <Card title="Execution flow">
                <ol className="space-y-2 text-sm">
                  {c.executionFlow.map((s) => (
                    <li key={s.step}>
                      <Badge className="mr-1 bg-slate-100">
                        {s.step}. {s.phase}
                      </Badge>
                      {s.description}
                    </li>
                  ))}
                </ol>
              </Card>
            )}
            <div className="grid gap-4 lg:grid-cols-2">
              <Card title="Prerequisites">
                {!c.prerequisites?.length ? <Empty>None listed.</Empty> : <ul className="list-disc space-y-1 pl-5 text-sm">{c.prerequisites.map((p, i) => <li key={i}>{p}</li>)}</ul>}
              </Card>
              <Card title="Mitigations">
                {!c.mitigations?.length ? <Empty>None listed.</Empty> : <ul className="list-disc space-y-1 pl-5 text-sm">{c.mitigations.map((p, i) => <li key={i}>{p}</li>)}</ul>}
              </Card>
            </div>
            {!!c.consequences?.length && (
              <Card title="Consequences">
                <Table head={["Scope", "Impact", "Note"]}>
                  {c.consequences.map((x, i) => (
                    <tr key={i}>
                      <td className="px-2 py-2 text-xs">{x.scope?.join(", ")}</td>
                      <td className="px-2 py-2 text-xs">{x.impact?.join(", ")}</td>
                      <td className="px-2 py-2 text-xs">{x.note}</td>
                    </tr>
                  ))}
                </Table>
              </Card>
            )}
            {!!c.relatedAttackPatterns?.length && (
              <Card title="Related attack patterns">
                <ul className="flex flex-wrap gap-3 text-sm">
                  {c.relatedAttackPatterns.map((r) => (
                    <li key={`${r.nature}-${r.capecId}`}>
                      <Badge className="mr-1 bg-slate-100">{r.nature}</Badge>
                      <Link href={`/capec?id=${normalizeCAPEC(r.capecId)}`} className="font-mono text-blue-700 hover:underline">
                        {normalizeCAPEC(r.capecId)}
                      </Link>
                    </li>
                  ))}
                </ul>
              </Card>
            )}
          </>
        )}
      </Query>
    </div>
  );
}
