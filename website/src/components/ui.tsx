"use client";
// Small building blocks shared by every page: cards, badges, skeletons,
// empty and error states, buttons, meters.

import type { UseQueryResult } from "@tanstack/react-query";
import type { ButtonHTMLAttributes, ReactNode } from "react";
import { severityClass, stateClass } from "@/lib/format";
import { RPCError } from "@/lib/rpc";

export function Card({ title, actions, children, className = "", id }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; id?: string }) {
  return (
    <section id={id} className={`rounded-lg border border-slate-200 bg-white p-4 shadow-sm ${className}`} aria-label={typeof title === "string" ? title : undefined}>
      {(title || actions) && (
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          {title && <h2 className="text-base font-semibold text-slate-800">{title}</h2>}
          {actions && <div className="flex flex-wrap gap-2">{actions}</div>}
        </div>
      )}
      {children}
    </section>
  );
}

export function PageTitle({ children, sub }: { children: ReactNode; sub?: ReactNode }) {
  return (
    <div className="mb-4">
      <h1 className="text-2xl font-bold tracking-tight text-slate-900">{children}</h1>
      {sub && <p className="mt-1 text-sm text-slate-600">{sub}</p>}
    </div>
  );
}

export function Badge({ children, className = "" }: { children: ReactNode; className?: string }) {
  return <span className={`inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium ${className}`}>{children}</span>;
}

export function SeverityBadge({ severity, score }: { severity?: string | null; score?: number | null }) {
  if (!severity && score == null) return <Badge className="bg-slate-100 text-slate-500">n/a</Badge>;
  return (
    <Badge className={severityClass(severity)}>
      {score != null ? score.toFixed(1) : ""} {severity ?? ""}
    </Badge>
  );
}

export function StateBadge({ state }: { state?: string | null }) {
  return (
    <span data-testid="state" className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-semibold ring-1 ring-inset ${stateClass(state)}`}>
      {state || "unknown"}
    </span>
  );
}

export function Skeleton({ rows = 4, label = "Loading" }: { rows?: number; label?: string }) {
  return (
    <div role="status" aria-live="polite" aria-label={label} className="space-y-2" data-testid="loading">
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton h-5 rounded" style={{ width: `${95 - ((i * 17) % 35)}%` }} />
      ))}
      <span className="sr-only">{label}…</span>
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <div data-testid="empty" className="rounded-md border border-dashed border-slate-300 p-6 text-center text-sm text-slate-500">
      {children}
    </div>
  );
}

/** ErrorState shows a backend error; a method the backend does not have yet is named as such. */
export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const e = error as Error;
  const rpcErr = error instanceof RPCError ? error : undefined;
  return (
    <div role="alert" data-testid="error" className="rounded-md border border-red-200 bg-red-50 p-4 text-sm text-red-900">
      {rpcErr?.missing ? (
        <p>
          <strong>Not available yet:</strong> the backend does not answer <code className="font-mono">{rpcErr.method}</code> on{" "}
          <code className="font-mono">{rpcErr.target}</code>.
        </p>
      ) : (
        <p>
          <strong>Error{rpcErr ? ` from ${rpcErr.method}` : ""}:</strong>
        </p>
      )}
      <p className="mt-1 break-words font-mono text-xs" data-testid="error-message">
        {e?.message ?? String(error)}
      </p>
      {onRetry && (
        <Button className="mt-2" variant="secondary" onClick={onRetry}>
          Retry
        </Button>
      )}
    </div>
  );
}

/** Query renders a query's loading, error and data states. */
export function Query<T>({ q, children, rows, empty }: { q: UseQueryResult<T, Error>; children: (data: T) => ReactNode; rows?: number; empty?: (data: T) => boolean }) {
  if (q.isPending) return <Skeleton rows={rows} />;
  if (q.isError) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (empty?.(q.data)) return <Empty>Nothing here yet.</Empty>;
  return <>{children(q.data)}</>;
}

type Variant = "primary" | "secondary" | "danger" | "ghost";
const VARIANTS: Record<Variant, string> = {
  primary: "bg-blue-600 text-white hover:bg-blue-700 disabled:bg-blue-300",
  secondary: "bg-white text-slate-800 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 disabled:text-slate-400",
  danger: "bg-red-600 text-white hover:bg-red-700 disabled:bg-red-300",
  ghost: "text-slate-700 hover:bg-slate-100 disabled:text-slate-400",
};

export function Button({ variant = "primary", className = "", ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }) {
  return <button type="button" className={`inline-flex items-center justify-center rounded-md px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed ${VARIANTS[variant]} ${className}`} {...rest} />;
}

export function Field({ label, children, className = "" }: { label: string; children: ReactNode; className?: string }) {
  return (
    <label className={`flex flex-col gap-1 text-xs font-medium text-slate-600 ${className}`}>
      {label}
      {children}
    </label>
  );
}

export const inputClass = "rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm text-slate-900 shadow-sm focus:border-blue-500";

export function Stat({ label, value, hint, testId }: { label: string; value: ReactNode; hint?: ReactNode; testId?: string }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm" data-testid={testId}>
      <div className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</div>
      <div className="mt-1 text-xl font-semibold text-slate-900">{value}</div>
      {hint && <div className="mt-0.5 text-xs text-slate-500">{hint}</div>}
    </div>
  );
}

/** Meter is a bar in [0, 100]; tone "usage" turns amber then red as it fills, "progress" turns green when done. */
export function Meter({ value, label, className = "", tone = "usage" }: { value?: number; label: string; className?: string; tone?: "usage" | "progress" }) {
  const v = value == null ? 0 : Math.max(0, Math.min(100, value));
  const color = tone === "progress" ? (v >= 100 ? "bg-emerald-600" : "bg-blue-600") : v >= 90 ? "bg-red-600" : v >= 70 ? "bg-amber-500" : "bg-blue-600";
  return (
    <div role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={value == null ? undefined : Math.round(v)} className={`h-2.5 w-full overflow-hidden rounded-full bg-slate-200 ${className}`}>
      <div className={`h-full ${color} transition-all`} style={{ width: `${v}%` }} />
    </div>
  );
}

export type Head = ReactNode | { label: ReactNode; className: string };

export function Table({ head, children, caption }: { head: Head[]; children: ReactNode; caption?: string }) {
  return (
    <div className="overflow-x-auto">
      <table className="min-w-full text-left text-sm">
        {caption && <caption className="sr-only">{caption}</caption>}
        <thead className="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-500">
          <tr>
            {head.map((h, i) => {
              const o = h && typeof h === "object" && "label" in h ? h : { label: h as ReactNode, className: "" };
              return (
                <th key={i} scope="col" className={`px-2 py-2 font-medium ${o.className}`}>
                  {o.label}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">{children}</tbody>
      </table>
    </div>
  );
}

export function Pager({ offset, limit, total, onChange }: { offset: number; limit: number; total?: number; onChange: (offset: number) => void }) {
  const end = total == null ? offset + limit : Math.min(total, offset + limit);
  return (
    <div className="mt-3 flex items-center justify-between gap-2 text-sm text-slate-600">
      <span>
        {total === 0 ? "0" : `${offset + 1}–${end}`} of {total ?? "?"}
      </span>
      <div className="flex gap-2">
        <Button variant="secondary" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit))}>
          Previous
        </Button>
        <Button variant="secondary" disabled={total != null && offset + limit >= total} onClick={() => onChange(offset + limit)}>
          Next
        </Button>
      </div>
    </div>
  );
}
