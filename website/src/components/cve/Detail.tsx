"use client";
// One CVE: descriptions, every CVSS version with its vector, weaknesses,
// references, configurations (CPE) and the chain to CAPEC and ATT&CK.

import Link from "next/link";
import { Badge, Card, Empty, PageTitle, Query, SeverityBadge, Table } from "@/components/ui";
import { formatDate, normalizeCWE } from "@/lib/format";
import { useRPC } from "@/lib/hooks";
import { cvssRows, englishDescription, parseCPE, versionRange, weaknessIds, type NvdCve } from "@/lib/nvd";
import { Chain } from "./Chain";

export function CveDetail({ id }: { id: string }) {
  const q = useRPC<{ cve: NvdCve; id: string }>("local", "RPCGetCVEByID", { cveId: id });
  return (
    <div className="space-y-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link href="/cve" className="text-blue-700 hover:underline">
          CVE
        </Link>{" "}
        / <span className="font-mono">{id}</span>
      </nav>
      <Query q={q} rows={10}>
        {({ cve }) => <CveBody cve={cve} id={id} />}
      </Query>
    </div>
  );
}

function CveBody({ cve, id }: { cve: NvdCve; id: string }) {
  const rows = cvssRows(cve);
  const best = rows[0];
  const cwes = weaknessIds(cve);
  return (
    <>
      <PageTitle
        sub={
          <>
            Published {formatDate(cve.published)} · modified {formatDate(cve.lastModified)} · {cve.vulnStatus} · source {cve.sourceIdentifier}
          </>
        }
      >
        <span data-testid="cve-id" className="font-mono">
          {cve.id ?? id}
        </span>{" "}
        {best && <SeverityBadge severity={best.severity} score={best.score} />}
        {cve.cisaExploitAdd && <Badge className="ml-2 bg-red-100 text-red-800">CISA KEV since {cve.cisaExploitAdd}</Badge>}
      </PageTitle>

      <Card title="Description">
        <p className="whitespace-pre-line text-sm text-slate-800" data-testid="cve-description">
          {englishDescription(cve) || "No description."}
        </p>
        {(cve.descriptions ?? []).filter((d) => d.lang !== "en").map((d, i) => (
          <p key={i} className="mt-2 text-sm text-slate-600" lang={d.lang}>
            <Badge className="mr-1 bg-slate-100">{d.lang}</Badge>
            {d.value}
          </p>
        ))}
        {cve.cisaVulnerabilityName && (
          <p className="mt-3 text-sm text-red-900">
            <strong>CISA:</strong> {cve.cisaVulnerabilityName}. Required action: {cve.cisaRequiredAction} (due {cve.cisaActionDue}).
          </p>
        )}
      </Card>

      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="CVSS">
          {rows.length === 0 ? (
            <Empty>No CVSS metrics.</Empty>
          ) : (
            <Table head={["Version", "Score", "Source", "Vector"]} caption="CVSS metrics">
              {rows.map((r, i) => (
                <tr key={i} data-testid="cvss-row">
                  <td className="px-2 py-2">v{r.version}</td>
                  <td className="whitespace-nowrap px-2 py-2">
                    <SeverityBadge severity={r.severity} score={r.score} />
                  </td>
                  <td className="px-2 py-2 text-xs text-slate-600">
                    {r.source} {r.type && <span className="text-slate-400">({r.type})</span>}
                  </td>
                  <td className="break-all px-2 py-2 font-mono text-xs">{r.vector}</td>
                </tr>
              ))}
            </Table>
          )}
        </Card>
        <Card title="Weaknesses">
          {cwes.length === 0 ? (
            <Empty>No weakness recorded.</Empty>
          ) : (
            <ul className="space-y-1 text-sm">
              {cwes.map((w) => (
                <li key={w}>
                  {/^CWE-\d+$/.test(w) ? (
                    <Link data-testid="cve-cwe-link" className="font-mono text-blue-700 hover:underline" href={`/cwe?id=${normalizeCWE(w)}`}>
                      {w}
                    </Link>
                  ) : (
                    <span className="font-mono">{w}</span>
                  )}
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>

      <Chain cveId={cve.id ?? id} cwes={cwes.filter((w) => /^CWE-\d+$/.test(w))} />

      <Card title="Configurations (CPE)">
        <Configurations cve={cve} />
      </Card>

      <Card title={`References (${cve.references?.length ?? 0})`}>
        {!cve.references?.length ? (
          <Empty>No references.</Empty>
        ) : (
          <ul className="space-y-1 text-sm">
            {cve.references.map((r, i) => (
              <li key={i} className="break-all">
                <a href={r.url} target="_blank" rel="noreferrer noopener" className="text-blue-700 hover:underline">
                  {r.url}
                </a>{" "}
                {(r.tags ?? []).map((t) => (
                  <Badge key={t} className="ml-1 bg-slate-100 text-slate-600">
                    {t}
                  </Badge>
                ))}
              </li>
            ))}
          </ul>
        )}
      </Card>
    </>
  );
}

function Configurations({ cve }: { cve: NvdCve }) {
  const cfgs = cve.configurations ?? [];
  if (cfgs.length === 0) return <Empty>No configurations.</Empty>;
  return (
    <div className="space-y-3">
      {cfgs.map((cfg, i) => (
        <div key={i} className="rounded border border-slate-200 p-2">
          {cfg.operator && <div className="mb-1 text-xs text-slate-500">Configuration {i + 1}: nodes joined by {cfg.operator}</div>}
          {(cfg.nodes ?? []).map((n, j) => (
            <div key={j} className="mb-2">
              <div className="text-xs text-slate-500">
                {n.negate ? "NOT " : ""}
                {n.operator ?? "OR"} of:
              </div>
              <Table head={["Vendor", "Product", "Version", "Range", "Vulnerable", "CPE"]}>
                {(n.cpeMatch ?? []).map((m, k) => {
                  const c = parseCPE(m.criteria);
                  return (
                    <tr key={k} data-testid="cpe-row">
                      <td className="px-2 py-1">{c?.vendor}</td>
                      <td className="px-2 py-1">{c?.product}</td>
                      <td className="px-2 py-1">{c?.version === "*" ? "any" : c?.version}</td>
                      <td className="px-2 py-1 text-xs">{versionRange(m)}</td>
                      <td className="px-2 py-1">{m.vulnerable ? "yes" : "no"}</td>
                      <td className="break-all px-2 py-1 font-mono text-xs text-slate-500">{m.criteria}</td>
                    </tr>
                  );
                })}
              </Table>
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}
