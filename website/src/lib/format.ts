// Formatting helpers shared by the pages. All pure, all unit tested.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(n: number | null | undefined, digits = 1): string {
  if (n == null || !Number.isFinite(n)) return "—";
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const s = i === 0 ? String(Math.round(v)) : v.toFixed(digits);
  return `${n < 0 ? "-" : ""}${s} ${UNITS[i]}`;
}

export function formatRate(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond == null || !Number.isFinite(bytesPerSecond)) return "—";
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatPercent(v: number | null | undefined, digits = 1): string {
  if (v == null || !Number.isFinite(v)) return "—";
  return `${v.toFixed(digits)}%`;
}

export function formatNumber(v: number | null | undefined, digits = 0): string {
  if (v == null || !Number.isFinite(v)) return "—";
  return v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** formatDuration renders seconds as "2d 3h", "3h 4m", "4m 5s" or "5s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${r}s`;
  return `${r}s`;
}

/** formatETA renders an ETA given in seconds, or as an RFC 3339 time relative to now. */
export function formatETA(eta: number | string | null | undefined, now: Date = new Date()): string {
  if (eta == null || eta === "") return "—";
  if (typeof eta === "number") return eta <= 0 ? "done" : formatDuration(eta);
  const t = Date.parse(eta);
  if (Number.isNaN(t)) return eta;
  const left = (t - now.getTime()) / 1000;
  return left <= 0 ? "done" : formatDuration(left);
}

/** formatDate renders an NVD or RFC 3339 timestamp as "2026-01-01 09:15 UTC"; a date stays a date. */
export function formatDate(s: string | null | undefined): string {
  if (!s) return "—";
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
  // NVD timestamps carry no zone and are UTC.
  const iso = /[zZ]|[+-]\d{2}:?\d{2}$/.test(s) ? s : `${s}Z`;
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return s;
  return `${t.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export type Severity = "CRITICAL" | "HIGH" | "MEDIUM" | "LOW" | "NONE";

/** severityOf maps a CVSS v3/v4 base score to its qualitative rating. */
export function severityOf(score: number | null | undefined): Severity | undefined {
  if (score == null || !Number.isFinite(score)) return undefined;
  if (score >= 9) return "CRITICAL";
  if (score >= 7) return "HIGH";
  if (score >= 4) return "MEDIUM";
  if (score > 0) return "LOW";
  return "NONE";
}

export function severityClass(sev: string | null | undefined): string {
  switch ((sev ?? "").toUpperCase()) {
    case "CRITICAL":
      return "bg-red-700 text-white";
    case "HIGH":
      return "bg-orange-600 text-white";
    case "MEDIUM":
      return "bg-amber-400 text-slate-900";
    case "LOW":
      return "bg-emerald-600 text-white";
    default:
      return "bg-slate-200 text-slate-700";
  }
}

/** stateClass colours a job, FSM or process state. */
export function stateClass(state: string | null | undefined): string {
  const s = (state ?? "").toUpperCase();
  if (["RUNNING", "ORCHESTRATING", "COMPLETED", "OK"].includes(s)) return "bg-emerald-100 text-emerald-800 ring-emerald-600/30";
  if (["PAUSED", "WAITING_QUOTA", "WAITING_BACKOFF", "STABILIZING", "ACQUIRING", "QUEUED", "STARTING", "BOOTSTRAPPING", "RESTARTING"].includes(s))
    return "bg-amber-100 text-amber-900 ring-amber-600/30";
  if (["FAILED", "TERMINATED", "DRAINING", "EXITED", "STOPPED", "DEAD"].includes(s)) return "bg-red-100 text-red-800 ring-red-600/30";
  return "bg-slate-100 text-slate-700 ring-slate-500/30";
}

/** normalizeCWE turns "79", "cwe-79" or "CWE-79" into "CWE-79"; other ids (NVD-CWE-Other) stay as they are. */
export function normalizeCWE(id: string): string {
  const t = id.trim();
  const m = /^(?:cwe-)?(\d+)$/i.exec(t);
  return m ? `CWE-${m[1]}` : t;
}

/** normalizeCAPEC turns "66" or "capec-66" into "CAPEC-66". */
export function normalizeCAPEC(id: string): string {
  const t = id.trim();
  const m = /^(?:capec-)?(\d+)$/i.exec(t);
  return m ? `CAPEC-${m[1]}` : t;
}

/** progressPercent is done/total as a percentage in [0, 100], or undefined when total is unknown. */
export function progressPercent(done: number | null | undefined, total: number | null | undefined): number | undefined {
  if (done == null || total == null || !Number.isFinite(done) || !Number.isFinite(total) || total <= 0) return undefined;
  return Math.max(0, Math.min(100, (done / total) * 100));
}

/** truncate shortens s to n characters with an ellipsis. */
export function truncate(s: string | null | undefined, n: number): string {
  if (!s) return "";
  return s.length <= n ? s : `${s.slice(0, n - 1).trimEnd()}…`;
}
