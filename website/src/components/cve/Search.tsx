"use client";
// CVE search: every filter of RPCSearchCVEs, kept in the URL so that the back
// button returns to the same results; cursor paging with a stack of cursors.

import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Badge, Button, Card, Field, Query, SeverityBadge, Table, inputClass } from "@/components/ui";
import { formatDate, truncate } from "@/lib/format";
import { useRPC } from "@/lib/hooks";

export interface CveSummary {
  id: string;
  published: string;
  lastModified: string;
  status: string;
  description: string;
  cvssScore?: number | null;
  cvssSeverity?: string | null;
  cvssVersion?: string | null;
  cweIds?: string[] | null;
  kev?: boolean;
}

interface SearchResult {
  cves: CveSummary[] | null;
  nextCursor?: string | null;
  total: number;
}

const FILTERS = ["query", "severity", "cvssMin", "cvssMax", "cweId", "vendor", "product", "publishedFrom", "publishedTo", "modifiedFrom", "modifiedTo", "status", "kev", "sort"] as const;
type Filter = (typeof FILTERS)[number];
const PAGE = 25;

function readFilters(sp: URLSearchParams): Record<Filter, string> {
  const out = {} as Record<Filter, string>;
  for (const f of FILTERS) out[f] = sp.get(f) ?? "";
  return out;
}

/** searchParams turns the form's strings into RPCSearchCVEs params (camelCase; rpc() converts). */
export function searchParamsOf(f: Record<Filter, string>): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  for (const k of FILTERS) {
    const v = f[k].trim();
    if (!v) continue;
    if (k === "cvssMin" || k === "cvssMax") p[k] = Number(v);
    else if (k === "kev") p[k] = v === "true";
    else p[k] = v;
  }
  return p;
}

export function CveSearch() {
  const sp = useSearchParams();
  const router = useRouter();
  const applied = useMemo(() => readFilters(new URLSearchParams(sp?.toString() ?? "")), [sp]);
  const [form, setForm] = useState(applied);
  const [cursors, setCursors] = useState<string[]>([]);
  const [more, setMore] = useState(false);
  useEffect(() => {
    setForm(applied);
    setCursors([]);
  }, [applied]);

  const params = { ...searchParamsOf(applied), limit: PAGE, cursor: cursors.at(-1) };
  const q = useRPC<SearchResult>("local", "RPCSearchCVEs", params, { placeholderData: (prev) => prev });

  function submit(e: FormEvent) {
    e.preventDefault();
    const u = new URLSearchParams();
    for (const f of FILTERS) if (form[f].trim()) u.set(f, form[f].trim());
    router.push(`/cve${u.size ? `?${u}` : ""}`);
  }
  const set = (k: Filter) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const page = cursors.length;

  return (
    <div className="space-y-4">
      <Card title="Search CVEs">
        <form role="search" onSubmit={submit} className="space-y-3" aria-label="CVE search">
          <div className="flex flex-col gap-2 sm:flex-row">
            <input aria-label="Search descriptions" name="query" placeholder="Words in the description, e.g. sql injection" className={`${inputClass} flex-1`} value={form.query} onChange={set("query")} />
            <Button type="submit">Search</Button>
            <Button variant="ghost" onClick={() => setMore(!more)} aria-expanded={more}>
              {more ? "Fewer filters" : "More filters"}
            </Button>
          </div>
          <div className="grid grid-cols-2 gap-2 sm:grid-cols-4 lg:grid-cols-6">
            <Field label="Severity">
              <select name="severity" className={inputClass} value={form.severity} onChange={set("severity")}>
                <option value="">any</option>
                {["CRITICAL", "HIGH", "MEDIUM", "LOW", "HIGH,CRITICAL"].map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            </Field>
            <Field label="CVSS min">
              <input name="cvssMin" type="number" min={0} max={10} step={0.1} className={inputClass} value={form.cvssMin} onChange={set("cvssMin")} />
            </Field>
            <Field label="CVSS max">
              <input name="cvssMax" type="number" min={0} max={10} step={0.1} className={inputClass} value={form.cvssMax} onChange={set("cvssMax")} />
            </Field>
            <Field label="CWE">
              <input name="cweId" placeholder="CWE-89" className={inputClass} value={form.cweId} onChange={set("cweId")} />
            </Field>
            <Field label="KEV">
              <select name="kev" className={inputClass} value={form.kev} onChange={set("kev")}>
                <option value="">any</option>
                <option value="true">in CISA KEV</option>
                <option value="false">not in KEV</option>
              </select>
            </Field>
            <Field label="Sort">
              <select name="sort" className={inputClass} value={form.sort} onChange={set("sort")}>
                <option value="">newest published</option>
                <option value="published">oldest published</option>
                <option value="-last_modified">last modified</option>
                <option value="-cvss">highest score</option>
                <option value="cvss">lowest score</option>
                <option value="id">id</option>
              </select>
            </Field>
          </div>
          {more && (
            <div className="grid grid-cols-2 gap-2 sm:grid-cols-4 lg:grid-cols-6">
              <Field label="Vendor (CPE)">
                <input name="vendor" className={inputClass} value={form.vendor} onChange={set("vendor")} />
              </Field>
              <Field label="Product (CPE)">
                <input name="product" className={inputClass} value={form.product} onChange={set("product")} />
              </Field>
              <Field label="Status">
                <input name="status" placeholder="Analyzed" className={inputClass} value={form.status} onChange={set("status")} />
              </Field>
              <Field label="Published from">
                <input name="publishedFrom" type="date" className={inputClass} value={form.publishedFrom} onChange={set("publishedFrom")} />
              </Field>
              <Field label="Published to">
                <input name="publishedTo" type="date" className={inputClass} value={form.publishedTo} onChange={set("publishedTo")} />
              </Field>
              <Field label="Modified from">
                <input name="modifiedFrom" type="date" className={inputClass} value={form.modifiedFrom} onChange={set("modifiedFrom")} />
              </Field>
              <Field label="Modified to">
                <input name="modifiedTo" type="date" className={inputClass} value={form.modifiedTo} onChange={set("modifiedTo")} />
              </Field>
            </div>
          )}
        </form>
      </Card>

      <Card
        title={
          <span>
            Results{" "}
            {q.data && (
              <span className="font-normal text-slate-500" data-testid="cve-total">
                {q.data.total} CVE{q.data.total === 1 ? "" : "s"}
              </span>
            )}
          </span>
        }
      >
        <Query q={q} rows={8}>
          {(r) =>
            !r.cves?.length ? (
              <div data-testid="empty" className="p-6 text-center text-sm text-slate-500">
                No CVE matches. {applied.query || applied.severity ? "Loosen the filters." : "Start a CVE sync on the Jobs tab to fill the store."}
              </div>
            ) : (
              <>
                <Table head={["CVE", "Score", { label: "Published", className: "hidden sm:table-cell" }, { label: "CWE", className: "hidden lg:table-cell" }, { label: "Description", className: "hidden md:table-cell" }]} caption="CVE search results">
                  {r.cves.map((c) => (
                    <tr key={c.id} data-testid="cve-row" className="align-top hover:bg-slate-50">
                      <td className="px-2 py-2 font-mono sm:whitespace-nowrap">
                        <Link className="text-blue-700 hover:underline" href={`/cve?id=${encodeURIComponent(c.id)}`}>
                          {c.id}
                        </Link>
                        {c.kev && <Badge className="ml-1 bg-red-100 text-red-800">KEV</Badge>}
                        {/^rejected$/i.test(c.status) && <Badge className="ml-1 bg-slate-200 font-sans text-slate-600">Rejected</Badge>}
                        <p className="mt-1 whitespace-normal font-sans text-xs text-slate-600 md:hidden">{truncate(c.description, 140)}</p>
                      </td>
                      <td className="whitespace-nowrap px-2 py-2">
                        <SeverityBadge severity={c.cvssSeverity} score={c.cvssScore} />
                        {c.cvssVersion && <span className="ml-1 text-xs text-slate-400">v{c.cvssVersion}</span>}
                      </td>
                      <td className="hidden whitespace-nowrap px-2 py-2 text-slate-600 sm:table-cell">{formatDate(c.published).slice(0, 10)}</td>
                      <td className="hidden whitespace-nowrap px-2 py-2 text-xs lg:table-cell">
                        {(c.cweIds ?? []).map((w) => (
                          <div key={w} className="font-mono">
                            {w}
                          </div>
                        ))}
                      </td>
                      <td className="hidden min-w-64 px-2 py-2 text-slate-700 md:table-cell">{truncate(c.description, 220)}</td>
                    </tr>
                  ))}
                </Table>
                <div className="mt-3 flex items-center justify-between text-sm text-slate-600">
                  <span>
                    Page {page + 1}
                    {q.isFetching && " · loading…"}
                  </span>
                  <div className="flex gap-2">
                    <Button variant="secondary" disabled={page === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
                      Previous
                    </Button>
                    <Button variant="secondary" disabled={!r.nextCursor} onClick={() => r.nextCursor && setCursors([...cursors, r.nextCursor])}>
                      Next
                    </Button>
                  </div>
                </div>
              </>
            )
          }
        </Query>
      </Card>
    </div>
  );
}
