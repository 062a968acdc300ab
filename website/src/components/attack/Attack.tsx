"use client";
// ATT&CK: the tactics × techniques matrix per domain, a technique page with
// sub-techniques, mitigations, groups and software, and the lists of
// mitigations, software and groups.

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { type ReadonlyURLSearchParams, useRouter, useSearchParams } from "next/navigation";
import { CatalogList, fetchAll } from "@/components/Catalog";
import { Tabs } from "@/components/Tabs";
import { Badge, Button, Card, Empty, ErrorState, PageTitle, Query, Skeleton, Table } from "@/components/ui";
import { formatDate, truncate } from "@/lib/format";
import { useRPC } from "@/lib/hooks";
import { Markup } from "@/components/Markup";
import { buildMatrix, type AttackObject, type Tactic, type Technique } from "./matrix";

export const DOMAINS = [
  { value: "enterprise", label: "Enterprise" },
  { value: "mobile", label: "Mobile" },
  { value: "ics", label: "ICS" },
];

function useAll<T>(method: string, key: string, domain?: string) {
  const params = domain ? { domain } : {};
  return useQuery({
    queryKey: ["local", method, "all", params],
    queryFn: ({ signal }) => fetchAll<T>("local", method, key, params, signal),
    retry: false,
    staleTime: 5 * 60_000,
  });
}

function Matrix({ domain }: { domain: string }) {
  const tactics = useAll<Tactic>("RPCListAttackTactics", "tactics", domain);
  const techniques = useAll<Technique>("RPCListAttackTechniques", "techniques", domain);
  if (tactics.isPending || techniques.isPending) return <Skeleton rows={10} label="Loading the matrix" />;
  if (tactics.isError) return <ErrorState error={tactics.error} />;
  if (techniques.isError) return <ErrorState error={techniques.error} />;
  const cols = buildMatrix(tactics.data, techniques.data);
  if (cols.length === 0) return <Empty>No tactics stored for this domain yet.</Empty>;
  return (
    <div className="overflow-x-auto pb-2" data-testid="matrix">
      <div className="flex gap-2" style={{ minWidth: `${cols.length * 11}rem` }}>
        {cols.map((c) => (
          <div key={c.tactic.id} className="w-44 shrink-0" data-testid="matrix-column">
            <div className="sticky top-0 mb-2 rounded bg-slate-800 px-2 py-1.5 text-white">
              <div className="text-sm font-semibold leading-tight">{c.tactic.name}</div>
              <div className="font-mono text-[10px] text-slate-300">
                {c.tactic.id} · {c.techniques.length} techniques
              </div>
            </div>
            <ul className="space-y-1">
              {c.techniques.map(({ technique: t, subs }) => (
                <li key={t.id}>
                  <Link href={`/attack?id=${t.id}`} data-testid="technique-cell" className="block rounded border border-slate-200 bg-white px-2 py-1 text-xs hover:border-blue-500">
                    <span className="font-medium text-slate-900">{t.name}</span>
                    <span className="ml-1 font-mono text-[10px] text-slate-500">{t.id}</span>
                    {subs.length > 0 && <span className="ml-1 rounded bg-slate-100 px-1 text-[10px] text-slate-600">{subs.length} sub</span>}
                  </Link>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </div>
    </div>
  );
}

const PLACEHOLDER: Record<string, string> = {
  technique: "Search techniques, e.g. T1059 or phishing",
  mitigation: "Search mitigations, e.g. M1049 or antivirus",
  software: "Search software, e.g. Mimikatz or S0002",
  group: "Search groups, e.g. APT28 or Fancy Bear",
  campaign: "Search campaigns, e.g. C0001 or Ukraine",
};

function ObjectList({ method, key_, kind, domain }: { method: string; key_: string; kind: string; domain: string }) {
  return (
    <CatalogList<AttackObject & { isSubtechnique?: boolean }>
      spec={{
        target: "local",
        method,
        key: key_,
        params: { domain },
        placeholder: PLACEHOLDER[kind],
        render: (items) => (
          <Table head={["ID", "Name", "Description"]} caption={`${kind} list`}>
            {items.map((o) => (
              <tr key={`${o.domain}-${o.id}`} data-testid={`${kind}-row`}>
                <td className="whitespace-nowrap px-2 py-2 font-mono">
                  <Link className="text-blue-700 hover:underline" href={refHref({ id: o.id, kind })}>
                    {o.id}
                  </Link>
                </td>
                <td className="px-2 py-2">
                  {o.name}
                  {o.type && <Badge className="ml-1 bg-slate-100">{o.type}</Badge>}
                  {o.isSubtechnique && <Badge className="ml-1 bg-slate-100">sub-technique</Badge>}
                  {!!o.aliases?.length && <div className="text-xs text-slate-500">{truncate(o.aliases.join(", "), 80)}</div>}
                </td>
                <td className="px-2 py-2 text-xs text-slate-600">{truncate(o.description, 200)}</td>
              </tr>
            ))}
          </Table>
        ),
      }}
    />
  );
}

/** withParam is the query string sp with name set to value (the tab and the search stay). */
function withParam(sp: URLSearchParams | ReadonlyURLSearchParams | null, name: string, value: string): string {
  const u = new URLSearchParams(sp?.toString() ?? "");
  u.set(name, value);
  return u.toString();
}

export function AttackBrowse() {
  const sp = useSearchParams();
  const router = useRouter();
  const domain = sp?.get("domain") ?? "enterprise";
  const meta = useRPC<{ importDate?: string; totalTechniques?: number; totalTactics?: number }>("local", "RPCGetAttackImportMetadata");
  return (
    <>
      <PageTitle
        sub={
          <>
            MITRE ATT&CK tactics, techniques, mitigations, software and groups.
            {meta.data?.importDate && <> Imported {formatDate(meta.data.importDate)}.</>}
          </>
        }
      >
        ATT&CK
      </PageTitle>
      <div className="mb-4 flex flex-wrap items-center gap-2" role="group" aria-label="Domain">
        {DOMAINS.map((d) => (
          <Button key={d.value} variant={d.value === domain ? "primary" : "secondary"} aria-pressed={d.value === domain} onClick={() => router.push(`/attack?${withParam(sp, "domain", d.value)}`)}>
            {d.label}
          </Button>
        ))}
      </div>
      <Tabs
        urlParam="tab"
        clearParams={["q"]}
        label="ATT&CK sections"
        tabs={[
          { value: "matrix", label: "Matrix", content: <Card><Matrix domain={domain} /></Card> },
          { value: "techniques", label: "Techniques", content: <Card><ObjectList method="RPCListAttackTechniques" key_="techniques" kind="technique" domain={domain} /></Card> },
          { value: "mitigations", label: "Mitigations", content: <Card><ObjectList method="RPCListAttackMitigations" key_="mitigations" kind="mitigation" domain={domain} /></Card> },
          { value: "software", label: "Software", content: <Card><ObjectList method="RPCListAttackSoftware" key_="software" kind="software" domain={domain} /></Card> },
          { value: "groups", label: "Groups", content: <Card><ObjectList method="RPCListAttackGroups" key_="groups" kind="group" domain={domain} /></Card> },
          { value: "campaigns", label: "Campaigns", content: <Card><ObjectList method="RPCListAttackCampaigns" key_="campaigns" kind="campaign" domain={domain} /></Card> },
        ]}
      />
    </>
  );
}

interface Ref {
  id: string;
  name: string;
  kind?: string;
  domain?: string;
  relationship?: string;
  direction?: string;
  description?: string;
}

/** TechniqueLinks is RPCGetAttackTechniqueLinks' answer (also accepted under "technique"). */
interface TechniqueLinks {
  technique: Technique;
  parent?: Ref | null;
  subtechniques?: Ref[] | null;
  tactics?: Ref[] | null;
  mitigations?: Ref[] | null;
  groups?: Ref[] | null;
  software?: Ref[] | null;
  campaigns?: Ref[] | null;
}

const KIND_PARAM: Record<string, string> = {
  technique: "id",
  "attack-pattern": "id",
  tactic: "tactic",
  mitigation: "mitigation",
  "course-of-action": "mitigation",
  software: "software",
  malware: "software",
  tool: "software",
  group: "group",
  "intrusion-set": "group",
  campaign: "campaign",
};

/** refHref links an ATT&CK object to its page, by kind or else by its id's letter. */
export function refHref(r: { id: string; kind?: string }): string {
  const byLetter: Record<string, string> = { T: "id", M: "mitigation", S: "software", G: "group", C: "campaign" };
  const param = (r.kind && KIND_PARAM[r.kind]) ?? (r.id.startsWith("TA") ? "tactic" : byLetter[r.id[0]] ?? "id");
  return `/attack?${param}=${r.id}`;
}

function RefList({ items, what, empty, limit = 50 }: { items?: Ref[] | null; what: string; empty: string; limit?: number }) {
  if (items === undefined) return <p className="text-sm text-slate-500">The backend does not link {what} yet.</p>;
  if (!items || items.length === 0) return <Empty>{empty}</Empty>;
  return (
    <ul className="space-y-2 text-sm">
      {items.slice(0, limit).map((r, i) => (
        <li key={`${r.id}-${r.relationship}-${i}`}>
          <Link className="font-mono text-blue-700 hover:underline" href={refHref(r)}>
            {r.id}
          </Link>{" "}
          {r.name}
          {r.relationship && !["uses", "mitigates", "subtechnique-of"].includes(r.relationship) && <Badge className="ml-1 bg-slate-100">{r.relationship}</Badge>}
          {r.description && <Markup className="text-xs text-slate-600" text={truncate(r.description, 300)} />}
        </li>
      ))}
      {items.length > limit && <li className="text-xs text-slate-500">and {items.length - limit} more</li>}
    </ul>
  );
}

export function TechniqueDetail({ id }: { id: string }) {
  const q = useRPC<{ technique: Technique | TechniqueLinks }>("local", "RPCGetAttackTechniqueByID", { id });
  const lq = useRPC<{ links: TechniqueLinks }>("local", "RPCGetAttackTechniqueLinks", { id });
  const all = useAll<Technique>("RPCListAttackTechniques", "techniques");
  return (
    <div className="space-y-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link href="/attack" className="text-blue-700 hover:underline">
          ATT&CK
        </Link>{" "}
        / <span className="font-mono">{id}</span>
      </nav>
      <Query q={q} rows={8}>
        {(d) => {
          const inline = "technique" in d.technique && typeof d.technique.technique === "object" ? (d.technique as TechniqueLinks) : undefined;
          const links = lq.data?.links ?? inline;
          const t = inline ? inline.technique : (d.technique as Technique);
          const subs: Ref[] | null | undefined =
            links?.subtechniques ?? (all.data ? all.data.filter((x) => x.parent === t.id || (x.id.startsWith(`${t.id}.`) && x.id !== t.id)).map((x) => ({ id: x.id, name: x.name })) : undefined);
          const parentId = links?.parent?.id ?? t.parent;
          const linkState = lq.isPending ? <Skeleton rows={2} /> : null;
          return (
            <>
              <PageTitle sub={[t.domain, t.isSubtechnique ? "sub-technique" : "technique", t.version && `v${t.version}`, t.lastModified && `modified ${formatDate(t.lastModified)}`].filter(Boolean).join(" · ")}>
                <span className="font-mono" data-testid="technique-id">
                  {t.id}
                </span>{" "}
                {t.name}
              </PageTitle>
              {parentId && (
                <p className="text-sm">
                  Sub-technique of{" "}
                  <Link className="font-mono text-blue-700 hover:underline" href={`/attack?id=${parentId}`}>
                    {parentId}
                  </Link>{" "}
                  {links?.parent?.name}
                </p>
              )}
              <Card title="Description">
                <Markup text={t.description} />
                <div className="mt-3 flex flex-wrap gap-1">
                  {(t.tactics ?? []).map((x) => (
                    <Badge key={x} className="bg-slate-800 text-white">
                      {x}
                    </Badge>
                  ))}
                  {(t.platforms ?? []).map((x) => (
                    <Badge key={x} className="bg-slate-100">
                      {x}
                    </Badge>
                  ))}
                </div>
                {t.url && (
                  <a className="mt-2 block text-sm text-blue-700 hover:underline" href={t.url} target="_blank" rel="noreferrer noopener">
                    {t.url}
                  </a>
                )}
              </Card>
              {lq.isError && !inline && <ErrorState error={lq.error} />}
              <div className="grid gap-4 lg:grid-cols-2">
                <Card title={`Sub-techniques${subs ? ` (${subs.length})` : ""}`}>
                  {subs === undefined && all.isPending ? <Skeleton rows={2} /> : <RefList items={subs} what="sub-techniques" empty="No sub-techniques." />}
                </Card>
                <Card title={`Mitigations${links?.mitigations ? ` (${links.mitigations.length})` : ""}`}>
                  {linkState ?? <RefList items={links ? links.mitigations ?? [] : undefined} what="mitigations to techniques" empty="No mitigation listed." />}
                </Card>
                <Card title={`Groups${links?.groups ? ` (${links.groups.length})` : ""}`}>
                  {linkState ?? <RefList items={links ? links.groups ?? [] : undefined} what="groups to techniques" empty="No group known to use it." />}
                </Card>
                <Card title={`Software${links?.software ? ` (${links.software.length})` : ""}`}>
                  {linkState ?? <RefList items={links ? links.software ?? [] : undefined} what="software to techniques" empty="No software known to use it." />}
                </Card>
              </div>
              {t.detection && (
                <Card title="Detection">
                  <Markup text={t.detection} />
                </Card>
              )}
            </>
          );
        }}
      </Query>
    </div>
  );
}

const KIND_METHOD: Record<string, [string, string]> = {
  tactic: ["RPCGetAttackTacticByID", "tactic"],
  mitigation: ["RPCGetAttackMitigationByID", "mitigation"],
  software: ["RPCGetAttackSoftwareByID", "software"],
  group: ["RPCGetAttackGroupByID", "group"],
  campaign: ["RPCGetAttackCampaignByID", "campaign"],
};

export function ObjectDetail({ kind, id }: { kind: string; id: string }) {
  const [method, key] = KIND_METHOD[kind];
  const q = useRPC<Record<string, AttackObject>>("local", method, { id });
  return (
    <div className="space-y-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link href="/attack" className="text-blue-700 hover:underline">
          ATT&CK
        </Link>{" "}
        / {kind} <span className="font-mono">{id}</span>
      </nav>
      <Query q={q} rows={6}>
        {(d) => {
          const o = d[key];
          return (
            <>
              <PageTitle sub={[kind, o.type, o.domain, o.version && `v${o.version}`].filter(Boolean).join(" · ")}>
                <span className="font-mono">{o.id}</span> {o.name}
              </PageTitle>
              <Card title="Description">
                <Markup text={o.description} />
                {!!o.aliases?.length && <p className="mt-2 text-sm text-slate-600">Also known as: {o.aliases.join(", ")}</p>}
                {!!o.platforms?.length && <p className="mt-1 text-sm text-slate-600">Platforms: {o.platforms.join(", ")}</p>}
                {o.url && (
                  <a className="mt-2 block text-sm text-blue-700 hover:underline" href={o.url} target="_blank" rel="noreferrer noopener">
                    {o.url}
                  </a>
                )}
              </Card>
              <ObjectLinks id={o.id} />
            </>
          );
        }}
      </Query>
    </div>
  );
}

/** ObjectLinks lists an object's relationships (RPCGetAttackLinks), grouped by kind of the other end. */
function ObjectLinks({ id }: { id: string }) {
  const q = useRPC<{ links: Ref[] | null }>("local", "RPCGetAttackLinks", { id });
  if (q.isPending) return <Skeleton rows={3} />;
  if (q.isError) return <ErrorState error={q.error} />;
  const groups = new Map<string, Ref[]>();
  for (const l of q.data.links ?? []) {
    const k = l.kind ?? "other";
    groups.set(k, [...(groups.get(k) ?? []), l]);
  }
  if (groups.size === 0) return <Empty>No relationships.</Empty>;
  return (
    <div className="grid gap-4 lg:grid-cols-2" data-testid="object-links">
      {[...groups.entries()].map(([kind, items]) => (
        <Card key={kind} title={`${kind[0].toUpperCase()}${kind.slice(1)} (${items.length})`}>
          <RefList items={items} what={kind} empty="None." />
        </Card>
      ))}
    </div>
  );
}
