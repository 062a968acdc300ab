"use client";
// Jobs: start, pause, resume and stop sync sessions (meta), with live
// progress, rate, ETA and errors.

import { useState, type FormEvent } from "react";
import { TrendChart } from "@/components/Sparkline";
import { Button, Card, ErrorState, Field, Meter, PageTitle, Query, Stat, StateBadge, inputClass } from "@/components/ui";
import { formatDate, formatETA, formatNumber, progressPercent } from "@/lib/format";
import { useRPC, useRPCAction } from "@/lib/hooks";
import { useSamples } from "@/lib/samples";

export interface SessionStatus {
  hasSession: boolean;
  sessionId?: string;
  state?: string;
  dataType?: string;
  startIndex?: number;
  resultsPerBatch?: number;
  createdAt?: string;
  updatedAt?: string;
  fetchedCount?: number;
  storedCount?: number;
  errorCount?: number;
  errorMessage?: string;
  progress?: Progress;
}

/** Progress as meta reports it; rate and eta are accepted under either name. */
export interface Progress {
  done?: number;
  total?: number;
  percent?: number;
  rate?: number;
  ratePerSecond?: number;
  eta?: number | string;
  etaSeconds?: number;
}

const STATUS = "RPCGetSessionStatus";

function Controls({ s }: { s: SessionStatus }) {
  const pause = useRPCAction("meta", "RPCPauseJob", [STATUS]);
  const resume = useRPCAction("meta", "RPCResumeJob", [STATUS]);
  const stop = useRPCAction<{ fetchedCount: number; storedCount: number; errorCount: number }>("meta", "RPCStopSession", [STATUS]);
  const err = pause.error ?? resume.error ?? stop.error;
  const busy = pause.isPending || resume.isPending || stop.isPending;
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap gap-2">
        <Button onClick={() => pause.mutate(undefined)} disabled={busy || s.state !== "running"}>
          Pause
        </Button>
        <Button onClick={() => resume.mutate(undefined)} disabled={busy || s.state !== "paused"}>
          Resume
        </Button>
        <Button variant="danger" onClick={() => stop.mutate(undefined)} disabled={busy}>
          Stop
        </Button>
      </div>
      {err && <ErrorState error={err} />}
      {stop.data && (
        <p className="text-sm text-slate-600" role="status">
          Stopped: {stop.data.fetchedCount} fetched, {stop.data.storedCount} stored, {stop.data.errorCount} errors.
        </p>
      )}
    </div>
  );
}

function Status() {
  const q = useRPC<SessionStatus>("meta", STATUS, undefined, { refetchInterval: 1000 });
  const samples = useSamples(q.data, (s) => ({ fetched: s.fetchedCount ?? 0, stored: s.storedCount ?? 0, errors: s.errorCount ?? 0 }), 120, q.dataUpdatedAt);
  return (
    <Card title="Current session" actions={q.isFetching ? <span className="text-xs text-slate-400">updating…</span> : undefined}>
      <Query q={q} rows={4}>
        {(s) =>
          !s.hasSession ? (
            <p className="text-sm text-slate-600" data-testid="no-session">
              No session is active. Start one below.
            </p>
          ) : (
            <div className="space-y-4" data-testid="session">
              <div className="flex flex-wrap items-center gap-3">
                <span className="font-mono text-sm" data-testid="session-id">
                  {s.sessionId}
                </span>
                <StateBadge state={s.state} />
                <span className="text-sm text-slate-600">{s.dataType}</span>
                <span className="text-xs text-slate-500">
                  started {formatDate(s.createdAt)} · updated {formatDate(s.updatedAt)}
                </span>
              </div>
              <ProgressBar p={s.progress} fallbackDone={s.fetchedCount} />
              <div className="grid grid-cols-3 gap-3">
                <Stat label="Fetched" value={formatNumber(s.fetchedCount)} testId="fetched" />
                <Stat label="Stored" value={formatNumber(s.storedCount)} testId="stored" />
                <Stat label="Errors" value={formatNumber(s.errorCount)} testId="errors" />
              </div>
              {s.errorMessage && (
                <div role="alert" className="rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-900">
                  Last error: {s.errorMessage}
                </div>
              )}
              <TrendChart data={samples} series={[{ key: "fetched", label: "fetched", color: "#2563eb" }, { key: "stored", label: "stored", color: "#059669" }, { key: "errors", label: "errors", color: "#dc2626" }]} />
              <Controls s={s} />
            </div>
          )
        }
      </Query>
    </Card>
  );
}

/** ProgressBar shows done/total, rate and ETA of a session or provider. */
export function ProgressBar({ p, fallbackDone, label = "Session progress" }: { p?: Progress; fallbackDone?: number; label?: string }) {
  const pct = progressPercent(p?.done, p?.total) ?? (p?.total ? p?.percent : undefined);
  const rate = p?.rate ?? p?.ratePerSecond;
  const eta = p?.eta ?? p?.etaSeconds;
  const known = p?.total != null && p.total > 0;
  return (
    <div>
      <div className="mb-1 flex flex-wrap justify-between gap-2 text-sm text-slate-700" data-testid="progress">
        <span>
          {formatNumber(p?.done ?? fallbackDone)} / {known ? formatNumber(p!.total) : "?"} {pct != null && `(${pct.toFixed(1)}%)`}
        </span>
        <span>
          {rate != null ? `${formatNumber(rate, 1)}/s` : "rate —"} · ETA {known ? formatETA(eta) : "—"}
        </span>
      </div>
      <Meter value={pct} label={label} tone="progress" />
    </div>
  );
}

function StartForm() {
  const [sessionId, setSessionId] = useState(() => `ui-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, "")}`);
  const [dataType, setDataType] = useState("cve");
  const [startIndex, setStartIndex] = useState("0");
  const [batch, setBatch] = useState("100");
  const plain = useRPCAction("meta", "RPCStartSession", [STATUS]);
  const typed = useRPCAction("meta", "RPCStartTypedSession", [STATUS]);
  const act = dataType === "cve" ? plain : typed;
  function submit(e: FormEvent) {
    e.preventDefault();
    const params: Record<string, unknown> = { sessionId, startIndex: Number(startIndex) || 0, resultsPerBatch: Number(batch) || 100 };
    if (dataType !== "cve") params.dataType = dataType;
    act.mutate(params);
  }
  return (
    <Card title="Start a session">
      <form onSubmit={submit} className="grid grid-cols-2 items-end gap-3 md:grid-cols-5" aria-label="Start a session">
        <Field label="Session id">
          <input name="sessionId" required className={inputClass} value={sessionId} onChange={(e) => setSessionId(e.target.value)} />
        </Field>
        <Field label="Data">
          <select name="dataType" className={inputClass} value={dataType} onChange={(e) => setDataType(e.target.value)}>
            <option value="cve">CVE (NVD sync)</option>
            <option value="cwe">CWE</option>
            <option value="capec">CAPEC</option>
            <option value="attack">ATT&CK</option>
          </select>
        </Field>
        <Field label="Start index">
          <input name="startIndex" type="number" min={0} className={inputClass} value={startIndex} onChange={(e) => setStartIndex(e.target.value)} />
        </Field>
        <Field label="Results per batch">
          <input name="resultsPerBatch" type="number" min={1} max={2000} className={inputClass} value={batch} onChange={(e) => setBatch(e.target.value)} />
        </Field>
        <Button type="submit" disabled={act.isPending}>
          {act.isPending ? "Starting…" : "Start"}
        </Button>
      </form>
      {act.error && (
        <div className="mt-3">
          <ErrorState error={act.error} />
        </div>
      )}
      {act.isSuccess && (
        <p className="mt-3 text-sm text-emerald-700" role="status">
          Session started.
        </p>
      )}
    </Card>
  );
}

export function Jobs() {
  return (
    <>
      <PageTitle sub="Sync sessions run by meta: one at a time; they survive restarts.">Jobs</PageTitle>
      <div className="space-y-4">
        <Status />
        <StartForm />
      </div>
    </>
  );
}
