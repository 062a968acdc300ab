// Reading the NVD API 2.0 "cve" object as RPCGetCVEByID returns it.

export interface NvdCvssData {
  version?: string;
  vectorString?: string;
  baseScore?: number;
  baseSeverity?: string;
  [k: string]: unknown;
}

export interface NvdMetric {
  source?: string;
  type?: string;
  cvssData?: NvdCvssData;
  baseSeverity?: string; // v2 keeps it here
  exploitabilityScore?: number;
  impactScore?: number;
}

export interface NvdCve {
  id?: string;
  sourceIdentifier?: string;
  published?: string;
  lastModified?: string;
  vulnStatus?: string;
  descriptions?: { lang: string; value: string }[];
  metrics?: Record<string, NvdMetric[] | undefined>;
  weaknesses?: { source?: string; type?: string; description?: { lang: string; value: string }[] }[];
  configurations?: { operator?: string; negate?: boolean; nodes?: NvdNode[] }[];
  references?: { url: string; source?: string; tags?: string[] }[];
  cisaExploitAdd?: string;
  cisaActionDue?: string;
  cisaRequiredAction?: string;
  cisaVulnerabilityName?: string;
  [k: string]: unknown;
}

export interface NvdNode {
  operator?: string;
  negate?: boolean;
  cpeMatch?: { vulnerable?: boolean; criteria: string; versionStartIncluding?: string; versionStartExcluding?: string; versionEndIncluding?: string; versionEndExcluding?: string; matchCriteriaId?: string }[];
}

export interface CvssRow {
  version: string;
  source: string;
  type: string;
  score?: number;
  severity?: string;
  vector?: string;
}

const METRIC_KEYS: [string, string][] = [
  ["cvssMetricV40", "4.0"],
  ["cvssMetricV31", "3.1"],
  ["cvssMetricV30", "3.0"],
  ["cvssMetricV2", "2.0"],
];

/** cvssRows lists every CVSS metric of every version, newest version first, Primary before Secondary. */
export function cvssRows(cve: NvdCve): CvssRow[] {
  const rows: CvssRow[] = [];
  for (const [key, version] of METRIC_KEYS) {
    const list = cve.metrics?.[key] ?? [];
    const sorted = [...list].sort((a, b) => (a.type === "Primary" ? 0 : 1) - (b.type === "Primary" ? 0 : 1));
    for (const m of sorted) {
      rows.push({
        version: m.cvssData?.version ?? version,
        source: m.source ?? "",
        type: m.type ?? "",
        score: m.cvssData?.baseScore,
        severity: m.cvssData?.baseSeverity ?? m.baseSeverity,
        vector: m.cvssData?.vectorString,
      });
    }
  }
  return rows;
}

/** englishDescription returns the English description, or the first one. */
export function englishDescription(cve: NvdCve): string {
  const d = cve.descriptions ?? [];
  return (d.find((x) => x.lang === "en") ?? d[0])?.value ?? "";
}

/** weaknessIds lists the distinct CWE ids of the record's weaknesses, in order. */
export function weaknessIds(cve: NvdCve): string[] {
  const out: string[] = [];
  for (const w of cve.weaknesses ?? []) {
    for (const d of w.description ?? []) {
      if (d.value && !out.includes(d.value)) out.push(d.value);
    }
  }
  return out;
}

export interface CPE {
  part: string;
  vendor: string;
  product: string;
  version: string;
}

/** parseCPE reads a CPE 2.3 formatted string; undefined when it is not one. */
export function parseCPE(s: string): CPE | undefined {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && i + 1 < s.length) {
      cur += s[i + 1];
      i++;
    } else if (c === ":") {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  if (parts.length < 6 || parts[0] !== "cpe" || parts[1] !== "2.3") return undefined;
  const part = { a: "application", o: "operating system", h: "hardware" }[parts[2]] ?? parts[2];
  return { part, vendor: parts[3], product: parts[4], version: parts[5] };
}

/** versionRange describes a cpeMatch's version bounds, e.g. ">= 1.0, < 2.0". */
export function versionRange(m: NonNullable<NvdNode["cpeMatch"]>[number]): string {
  const r: string[] = [];
  if (m.versionStartIncluding) r.push(`>= ${m.versionStartIncluding}`);
  if (m.versionStartExcluding) r.push(`> ${m.versionStartExcluding}`);
  if (m.versionEndIncluding) r.push(`<= ${m.versionEndIncluding}`);
  if (m.versionEndExcluding) r.push(`< ${m.versionEndExcluding}`);
  return r.join(", ");
}
