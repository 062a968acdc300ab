"use client";
// CWE: the weakness list and search, a weakness page with its relationship
// graph, consequences, mitigations and linked CAPEC, and the CWE views.

import Link from "next/link";
import { CatalogList } from "@/components/Catalog";
import { Tabs } from "@/components/Tabs";
import { Badge, Card, Empty, ErrorState, PageTitle, Query, Skeleton, Table } from "@/components/ui";
import { normalizeCAPEC, normalizeCWE, truncate } from "@/lib/format";
import { useRPC } from "@/lib/hooks";

export interface CweSummary {
  kind?: string;
  id: string;
  name: string;
  abstraction?: string;
  status?: string;
  description?: string;
}

interface Weakness extends CweSummary {
  extendedDescription?: string;
  summary?: string;
  likelihoodOfExploit?: string;
  commonConsequences?: { scope: string[]; impact?: string[]; likelihood?: string[]; note?: string }[];
  potentialMitigations?: { phase?: string[]; strategy?: string; description: string; effectiveness?: string }[];
  detectionMethods?: { method: string; description: string; effectiveness?: string }[];
  relatedAttackPatterns?: string[];
  relatedWeaknesses?: { nature: string; cweId: string; viewId: string; ordinal?: string }[];
  observedExamples?: { reference: string; description: string; link?: string }[];
  modesOfIntroduction?: { phase: string; note?: string }[];
  members?: { cweId: string }[];
}

interface Relationship {
  cweId: string;
  nature: string;
  relatedId: string;
  relatedName?: string;
  viewId?: string;
  ordinal?: string;
  inferred?: boolean;
}

function CweLink({ id, name }: { id: string; name?: string }) {
  const n = normalizeCWE(id);
  return (
    <Link href={`/cwe?id=${n}`} className="text-blue-700 hover:underline">
      <span className="font-mono">{n}</span>
      {name && <span className="ml-1">{name}</span>}
    </Link>
  );
}

export function CweBrowse() {
  return (
    <>
      <PageTitle sub="MITRE's Common Weakness Enumeration: weaknesses, categories and views.">Weaknesses (CWE)</PageTitle>
      <Tabs
        urlParam="tab"
        clearParams={["q"]}
        label="CWE sections"
        tabs={[
          {
            value: "list",
            label: "Weaknesses",
            content: (
              <Card>
                <CatalogList<CweSummary>
                  spec={{
                    target: "local",
                    method: "RPCListCWEs",
                    key: "cwes",
                    placeholder: "Search weaknesses, e.g. injection or CWE-79",
                    render: (items) => (
                      <Table head={["CWE", "Name", "Abstraction", "Status"]} caption="CWE list">
                        {items.map((c) => (
                          <tr key={`${c.kind}-${c.id}`} data-testid="cwe-row">
                            <td className="whitespace-nowrap px-2 py-2 font-mono">
                              <Link href={`/cwe?id=${normalizeCWE(c.id)}`} className="text-blue-700 hover:underline">
                                {normalizeCWE(c.id)}
                              </Link>
                            </td>
                            <td className="px-2 py-2">
                              {c.name}
                              <div className="text-xs text-slate-500">{truncate(c.description, 160)}</div>
                            </td>
                            <td className="px-2 py-2 text-xs">{c.kind === "category" ? "Category" : c.abstraction}</td>
                            <td className="px-2 py-2 text-xs">{c.status}</td>
                          </tr>
                        ))}
                      </Table>
                    ),
                  }}
                />
              </Card>
            ),
          },
          { value: "views", label: "Views", content: <Views /> },
        ]}
      />
    </>
  );
}

interface ViewSummary {
  id: string;
  name: string;
  type?: string;
  status?: string;
  objective?: string;
}

function Views() {
  return (
    <Card title="CWE views">
      <CatalogList<ViewSummary>
        spec={{
          target: "local",
          method: "RPCListCWEViews",
          key: "views",
          placeholder: "Search views, e.g. mapping or CWE-1003",
          render: (views) => (
            <Table head={["View", "Name", "Type", "Objective"]} caption="CWE views">
              {views.map((v) => (
                <tr key={v.id} data-testid="view-row">
                  <td className="whitespace-nowrap px-2 py-2 font-mono">
                    <Link className="text-blue-700 hover:underline" href={`/cwe?view=${encodeURIComponent(v.id)}`}>
                      {normalizeCWE(v.id)}
                    </Link>
                  </td>
                  <td className="px-2 py-2">{v.name}</td>
                  <td className="px-2 py-2 text-xs">{v.type}</td>
                  <td className="px-2 py-2 text-xs text-slate-600">{truncate(v.objective, 200)}</td>
                </tr>
              ))}
            </Table>
          ),
        }}
      />
    </Card>
  );
}

export function CweView({ id }: { id: string }) {
  const q = useRPC<{ view: { id: string; name: string; type?: string; status?: string; objective?: string; members?: { cweId: string }[]; filter?: string } }>("local", "RPCGetCWEViewByID", { viewId: id });
  return (
    <div className="space-y-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link href="/cwe" className="text-blue-700 hover:underline">
          CWE
        </Link>{" "}
        / view {id}
      </nav>
      <Query q={q}>
        {({ view }) => (
          <>
            <PageTitle sub={`${view.type ?? ""} view · ${view.status ?? ""}`}>
              {normalizeCWE(view.id)} {view.name}
            </PageTitle>
            <Card title="Objective">
              <p className="whitespace-pre-line text-sm">{view.objective || "—"}</p>
              {view.filter && <p className="mt-2 font-mono text-xs text-slate-500">Filter: {view.filter}</p>}
            </Card>
            <Card title={`Members (${view.members?.length ?? 0})`} className="mt-4">
              {!view.members?.length ? (
                <Empty>This view lists no members directly.</Empty>
              ) : (
                <ul className="grid gap-1 text-sm sm:grid-cols-3">
                  {view.members.map((m) => (
                    <li key={m.cweId}>
                      <CweLink id={m.cweId} />
                    </li>
                  ))}
                </ul>
              )}
            </Card>
          </>
        )}
      </Query>
    </div>
  );
}

export function CweDetail({ id }: { id: string }) {
  const q = useRPC<{ cwe: Weakness }>("local", "RPCGetCWEByID", { cweId: id });
  return (
    <div className="space-y-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link href="/cwe" className="text-blue-700 hover:underline">
          CWE
        </Link>{" "}
        / <span className="font-mono">{normalizeCWE(id)}</span>
      </nav>
      <Query q={q} rows={10}>
        {({ cwe }) => (
          <>
            <PageTitle sub={[cwe.kind, cwe.abstraction, cwe.status, cwe.likelihoodOfExploit && `likelihood of exploit: ${cwe.likelihoodOfExploit}`].filter(Boolean).join(" · ")}>
              <span className="font-mono" data-testid="cwe-id">
                {normalizeCWE(cwe.id)}
              </span>{" "}
              {cwe.name}
            </PageTitle>
            <Card title="Description">
              <p className="whitespace-pre-line text-sm" data-testid="cwe-description">
                {cwe.description || cwe.summary}
              </p>
              {cwe.extendedDescription && <p className="mt-2 whitespace-pre-line text-sm text-slate-700">{cwe.extendedDescription}</p>}
            </Card>
            <Relationships id={id} />
            <div className="grid gap-4 lg:grid-cols-2">
              <Card title="Common consequences">
                {!cwe.commonConsequences?.length ? (
                  <Empty>None listed.</Empty>
                ) : (
                  <Table head={["Scope", "Impact", "Note"]}>
                    {cwe.commonConsequences.map((c, i) => (
                      <tr key={i}>
                        <td className="px-2 py-2 text-xs">{c.scope?.join(", ")}</td>
                        <td className="px-2 py-2 text-xs">{c.impact?.join(", ")}</td>
                        <td className="px-2 py-2 text-xs text-slate-600">{truncate(c.note, 300)}</td>
                      </tr>
                    ))}
                  </Table>
                )}
              </Card>
              <Card title="Related attack patterns (CAPEC)">
                {!cwe.relatedAttackPatterns?.length ? (
                  <Empty>None listed.</Empty>
                ) : (
                  <ul className="flex flex-wrap gap-2 text-sm">
                    {cwe.relatedAttackPatterns.map((c) => (
                      <li key={c}>
                        <Link data-testid="cwe-capec-link" href={`/capec?id=${normalizeCAPEC(String(c))}`} className="font-mono text-blue-700 hover:underline">
                          {normalizeCAPEC(String(c))}
                        </Link>
                      </li>
                    ))}
                  </ul>
                )}
              </Card>
            </div>
            <Card title="Potential mitigations">
              {!cwe.potentialMitigations?.length ? (
                <Empty>None listed.</Empty>
              ) : (
                <ul className="space-y-2 text-sm">
                  {cwe.potentialMitigations.map((m, i) => (
                    <li key={i} className="rounded border border-slate-100 p-2">
                      <div className="text-xs text-slate-500">
                        {m.phase?.join(", ")}
                        {m.strategy && ` · ${m.strategy}`}
                        {m.effectiveness && ` · effectiveness: ${m.effectiveness}`}
                      </div>
                      <p className="whitespace-pre-line">{m.description}</p>
                    </li>
                  ))}
                </ul>
              )}
            </Card>
            {!!cwe.detectionMethods?.length && (
              <Card title="Detection methods">
                <ul className="space-y-2 text-sm">
                  {cwe.detectionMethods.map((d, i) => (
                    <li key={i}>
                      <strong>{d.method}</strong>
                      {d.effectiveness && <Badge className="ml-1 bg-slate-100">{d.effectiveness}</Badge>}: {truncate(d.description, 400)}
                    </li>
                  ))}
                </ul>
              </Card>
            )}
            {!!cwe.observedExamples?.length && (
              <Card title="Observed examples">
                <ul className="space-y-1 text-sm">
                  {cwe.observedExamples.map((o) => (
                    <li key={o.reference}>
                      {/^CVE-/.test(o.reference) ? (
                        <Link className="font-mono text-blue-700 hover:underline" href={`/cve?id=${o.reference}`}>
                          {o.reference}
                        </Link>
                      ) : (
                        <span className="font-mono">{o.reference}</span>
                      )}{" "}
                      {o.description}
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

/** Relationships draws the parent/child graph: parents above, the weakness, children below, peers aside. */
function Relationships({ id }: { id: string }) {
  const q = useRPC<{ relationships: Relationship[] | null }>("local", "RPCGetCWERelationships", { cweId: id });
  const self = normalizeCWE(id);
  if (q.isPending) return <Card title="Relationships"><Skeleton rows={3} /></Card>;
  if (q.isError) return <Card title="Relationships"><ErrorState error={q.error} /></Card>;
  const rels = q.data.relationships ?? [];
  const uniq = (xs: Relationship[]) => [...new Map(xs.map((r) => [normalizeCWE(r.relatedId), r])).values()];
  const parents = uniq(rels.filter((r) => r.nature === "ChildOf"));
  const children = uniq(rels.filter((r) => r.nature === "ParentOf"));
  const others = rels.filter((r) => r.nature !== "ChildOf" && r.nature !== "ParentOf");
  const Node = ({ r }: { r: Relationship }) => (
    <Link href={`/cwe?id=${normalizeCWE(r.relatedId)}`} data-testid="rel-node" className={`block max-w-56 rounded border px-2 py-1 text-xs hover:border-blue-500 ${r.inferred ? "border-dashed border-slate-300" : "border-slate-300"} bg-white`}>
      <span className="font-mono text-blue-700">{normalizeCWE(r.relatedId)}</span> {truncate(r.relatedName, 60)}
    </Link>
  );
  return (
    <Card title={`Relationships (${rels.length})`}>
      {rels.length === 0 ? (
        <Empty>No relationships.</Empty>
      ) : (
        <div className="flex flex-col items-center gap-2" aria-label="Parent and child graph">
          {parents.length > 0 && (
            <>
              <div className="text-xs uppercase text-slate-500">Parents (ChildOf)</div>
              <div className="flex flex-wrap justify-center gap-2">{parents.map((r) => <Node key={r.relatedId} r={r} />)}</div>
              <div aria-hidden className="h-4 w-px bg-slate-400" />
            </>
          )}
          <div className="rounded-md bg-blue-600 px-3 py-1.5 font-mono text-sm text-white">{self}</div>
          {children.length > 0 && (
            <>
              <div aria-hidden className="h-4 w-px bg-slate-400" />
              <div className="text-xs uppercase text-slate-500">Children (ParentOf)</div>
              <div className="flex flex-wrap justify-center gap-2">{children.slice(0, 40).map((r) => <Node key={r.relatedId} r={r} />)}</div>
              {children.length > 40 && <div className="text-xs text-slate-500">and {children.length - 40} more</div>}
            </>
          )}
          {others.length > 0 && (
            <div className="mt-3 w-full">
              <div className="mb-1 text-xs uppercase text-slate-500">Other relationships</div>
              <ul className="flex flex-wrap gap-2 text-xs">
                {others.map((r, i) => (
                  <li key={i} className="flex items-center gap-1">
                    <Badge className="bg-slate-100">{r.nature}</Badge>
                    <CweLink id={r.relatedId} name={truncate(r.relatedName, 40)} />
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
      )}
    </Card>
  );
}
