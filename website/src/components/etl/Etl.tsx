"use client";
// The Unified ETL Engine: macro and provider state machines as a tree, with
// permits held, checkpoints and controls; the broker's kernel metrics.

import { useState } from "react";
import { Bar, BarChart, CartesianGrid, Cell, Pie, PieChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { TrendChart } from "@/components/Sparkline";
import { Badge, Button, Card, Empty, Meter, PageTitle, Query, Stat, StateBadge, Table } from "@/components/ui";
import { formatDate, formatNumber } from "@/lib/format";
import { useRPC, useRPCAction } from "@/lib/hooks";
import { useSamples } from "@/lib/samples";
import { ProgressBar, type Progress } from "@/components/jobs/Jobs";

export interface Provider {
  id: string;
  type?: string;
  state: string;
  processedCount?: number;
  errorCount?: number;
  permitsHeld?: number;
  lastCheckpoint?: string | null;
  lastError?: string;
  progress?: Progress;
  [k: string]: unknown;
}

export interface EtlTree {
  macroFsm?: { id: string; state: string; [k: string]: unknown };
  providers?: Provider[] | null;
  totalCheckpoints?: number;
}

export interface KernelMetrics {
  p99LatencyMs: number;
  /** p99 of the requests the governor watches (no bulk methods, nothing to remote). */
  governedP99LatencyMs?: number;
  bufferSaturation: number;
  activeWorkers: number;
  totalPermits: number;
  allocatedPermits: number;
  availablePermits: number;
  messageRate: number;
  errorRate: number;
}

const TREE = "RPCGetEtlTree";
export const P99_THRESHOLD_MS = 30;

function ProviderControls({ p }: { p: Provider }) {
  const start = useRPCAction("meta", "RPCStartProvider", [TREE]);
  const pause = useRPCAction("meta", "RPCPauseProvider", [TREE]);
  const resume = useRPCAction("meta", "RPCResumeProvider", [TREE]);
  const stop = useRPCAction("meta", "RPCStopProvider", [TREE]);
  const err = start.error ?? pause.error ?? resume.error ?? stop.error;
  const s = p.state.toUpperCase();
  const params = { providerId: p.id };
  return (
    <div>
      <div className="flex flex-wrap gap-1">
        <Button variant="secondary" className="px-2 py-1 text-xs" disabled={s !== "IDLE" && s !== "TERMINATED"} onClick={() => start.mutate(params)} aria-label={`Start ${p.id}`}>
          Start
        </Button>
        <Button variant="secondary" className="px-2 py-1 text-xs" disabled={!["RUNNING", "ACQUIRING"].includes(s)} onClick={() => pause.mutate(params)} aria-label={`Pause ${p.id}`}>
          Pause
        </Button>
        <Button variant="secondary" className="px-2 py-1 text-xs" disabled={s !== "PAUSED"} onClick={() => resume.mutate(params)} aria-label={`Resume ${p.id}`}>
          Resume
        </Button>
        <Button variant="secondary" className="px-2 py-1 text-xs text-red-700" disabled={s === "TERMINATED" || s === "IDLE"} onClick={() => stop.mutate(params)} aria-label={`Stop ${p.id}`}>
          Stop
        </Button>
      </div>
      {err && <p className="mt-1 text-xs text-red-700" role="alert">{err.message}</p>}
    </div>
  );
}

function Checkpoints({ id }: { id: string }) {
  const [successOnly, setSuccessOnly] = useState(false);
  const q = useRPC<{ checkpoints: { urn: string; providerId: string; processedAt: string; success: boolean; errorMessage?: string }[] | null; total: number }>(
    "meta",
    "RPCGetProviderCheckpoints",
    { providerId: id, limit: 50, successOnly: successOnly || undefined },
    { refetchInterval: 5000 },
  );
  return (
    <div className="mt-2 rounded border border-slate-200 bg-slate-50 p-2">
      <label className="mb-2 flex items-center gap-2 text-xs">
        <input type="checkbox" checked={successOnly} onChange={(e) => setSuccessOnly(e.target.checked)} /> successes only
      </label>
      <Query q={q} rows={3} empty={(d) => !d.checkpoints?.length}>
        {(d) => (
          <>
            <p className="mb-1 text-xs text-slate-500">Last {d.checkpoints?.length} of {d.total} checkpoints</p>
            <Table head={["URN", "Processed", "Result"]}>
              {(d.checkpoints ?? []).map((c, i) => (
                <tr key={`${c.urn}-${i}`}>
                  <td className="break-all px-2 py-1 font-mono text-xs">{c.urn}</td>
                  <td className="whitespace-nowrap px-2 py-1 text-xs">{formatDate(c.processedAt)}</td>
                  <td className="px-2 py-1 text-xs">{c.success ? <Badge className="bg-emerald-100 text-emerald-800">ok</Badge> : <span className="text-red-700">{c.errorMessage || "failed"}</span>}</td>
                </tr>
              ))}
            </Table>
          </>
        )}
      </Query>
    </div>
  );
}

function ProviderNode({ p }: { p: Provider }) {
  const [open, setOpen] = useState(false);
  return (
    <li className="relative pl-6" data-testid="provider">
      <span aria-hidden className="absolute left-0 top-5 h-px w-5 bg-slate-300" />
      <div className="rounded-md border border-slate-200 bg-white p-3">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <div className="flex items-center gap-2">
            <span className="font-mono font-semibold" data-testid="provider-id">
              {p.id}
            </span>
            {p.type && <span className="text-xs text-slate-500">{p.type}</span>}
            <StateBadge state={p.state} />
          </div>
          <ProviderControls p={p} />
        </div>
        <dl className="mt-2 grid grid-cols-2 gap-x-4 gap-y-1 text-xs sm:grid-cols-4">
          <div>
            <dt className="text-slate-500">Processed</dt>
            <dd className="font-medium">{formatNumber(p.processedCount)}</dd>
          </div>
          <div>
            <dt className="text-slate-500">Errors</dt>
            <dd className="font-medium">{formatNumber(p.errorCount)}</dd>
          </div>
          <div>
            <dt className="text-slate-500">Permits held</dt>
            <dd className="font-medium">{formatNumber(p.permitsHeld)}</dd>
          </div>
          <div>
            <dt className="text-slate-500">Last checkpoint</dt>
            <dd className="break-all font-mono">{p.lastCheckpoint || "—"}</dd>
          </div>
        </dl>
        {p.progress && p.progress.total ? (
          <div className="mt-2 text-xs">
            <ProgressBar p={p.progress} label={`${p.id} progress`} />
          </div>
        ) : null}
        {p.lastError && (
          <p className="mt-2 break-words rounded bg-red-50 px-2 py-1 text-xs text-red-800" data-testid="provider-error">
            {p.lastError}
          </p>
        )}
        <Button variant="ghost" className="mt-1 px-1 py-0.5 text-xs" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? "Hide checkpoint history" : "Checkpoint history"}
        </Button>
        {open && <Checkpoints id={p.id} />}
      </div>
    </li>
  );
}

function Tree() {
  const q = useRPC<EtlTree>("meta", TREE, undefined, { refetchInterval: 2000 });
  return (
    <Card title="State machines" actions={q.data?.totalCheckpoints != null ? <span className="text-xs text-slate-500">{formatNumber(q.data.totalCheckpoints)} checkpoints</span> : undefined}>
      <Query q={q} rows={5}>
        {(t) => (
          <div data-testid="etl-tree">
            <div className="flex items-center gap-2 rounded-md bg-slate-800 p-3 text-white">
              <span className="font-mono font-semibold">{t.macroFsm?.id ?? "uee-orchestrator"}</span>
              <StateBadge state={t.macroFsm?.state} />
              <span className="text-xs text-slate-300">macro FSM</span>
            </div>
            {!t.providers?.length ? (
              <div className="mt-3">
                <Empty>No provider registered.</Empty>
              </div>
            ) : (
              <ul className="relative ml-4 mt-2 space-y-2 border-l border-slate-300 pt-2">
                {t.providers.map((p) => (
                  <ProviderNode key={p.id} p={p} />
                ))}
              </ul>
            )}
            {!!t.providers?.length && <PermitsByProvider providers={t.providers} />}
          </div>
        )}
      </Query>
    </Card>
  );
}

function PermitsByProvider({ providers }: { providers: Provider[] }) {
  const data = providers.map((p) => ({ id: p.id, permits: p.permitsHeld ?? 0, processed: p.processedCount ?? 0 }));
  return (
    <div className="mt-4">
      <h3 className="mb-1 text-sm font-semibold text-slate-700">Permits held by provider</h3>
      <div className="h-40">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
            <XAxis dataKey="id" tick={{ fontSize: 11 }} />
            <YAxis allowDecimals={false} width={30} tick={{ fontSize: 10 }} />
            <Tooltip />
            <Bar dataKey="permits" fill="#2563eb" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </div>
  );
}

function Kernel() {
  const q = useRPC<KernelMetrics>("broker", "RPCGetKernelMetrics", undefined, { refetchInterval: 2000 });
  const samples = useSamples(q.data, (k) => ({ p99: k.governedP99LatencyMs ?? k.p99LatencyMs, msg: k.messageRate, err: k.errorRate, sat: k.bufferSaturation * 100 }), 90, q.dataUpdatedAt);
  return (
    <Card title="Kernel metrics (broker)">
      <Query q={q} rows={6}>
        {(k) => {
          const sat = k.bufferSaturation * 100;
          const pie = [
            { name: "allocated", value: k.allocatedPermits, color: "#2563eb" },
            { name: "available", value: k.availablePermits, color: "#cbd5e1" },
            { name: "held back", value: Math.max(0, k.totalPermits - k.allocatedPermits - k.availablePermits), color: "#f59e0b" },
          ].filter((p) => p.value > 0);
          return (
            <div className="space-y-4" data-testid="kernel">
              <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
                <Stat label="P99 latency (governed)" value={`${formatNumber(k.governedP99LatencyMs ?? k.p99LatencyMs, 1)} ms`} hint={`${(k.governedP99LatencyMs ?? k.p99LatencyMs) > P99_THRESHOLD_MS ? `above the ${P99_THRESHOLD_MS} ms threshold` : `threshold ${P99_THRESHOLD_MS} ms`} · all requests ${formatNumber(k.p99LatencyMs, 1)} ms`} testId="p99" />
                <Stat label="Buffer saturation" value={`${sat.toFixed(1)}%`} hint={<Meter value={sat} label="Buffer saturation" className="mt-1" />} />
                <Stat label="Messages/s" value={formatNumber(k.messageRate, 1)} hint={`errors ${formatNumber(k.errorRate, 2)}/s`} />
                <Stat label="Active workers" value={formatNumber(k.activeWorkers)} hint={`${k.allocatedPermits}/${k.totalPermits} permits allocated`} />
              </div>
              <div className="grid gap-4 lg:grid-cols-3">
                <div className="lg:col-span-2">
                  <h3 className="text-sm font-semibold text-slate-700">P99 latency</h3>
                  <TrendChart data={samples} series={[{ key: "p99", label: "P99", color: "#7c3aed" }]} unit="ms" threshold={{ value: P99_THRESHOLD_MS, label: `${P99_THRESHOLD_MS} ms` }} domain={[0, Math.ceil(Math.max(40, ...samples.map((s) => s.p99 ?? 0)) / 10) * 10]} />
                </div>
                <div>
                  <h3 className="text-sm font-semibold text-slate-700">Permit allocation</h3>
                  <div className="h-40" aria-label={`${k.allocatedPermits} of ${k.totalPermits} permits allocated`}>
                    <ResponsiveContainer width="100%" height="100%">
                      <PieChart>
                        <Pie data={pie} dataKey="value" nameKey="name" innerRadius={35} outerRadius={60} isAnimationActive={false}>
                          {pie.map((p) => (
                            <Cell key={p.name} fill={p.color} />
                          ))}
                        </Pie>
                        <Tooltip />
                      </PieChart>
                    </ResponsiveContainer>
                  </div>
                  <p className="text-center text-xs text-slate-600">
                    {k.allocatedPermits} allocated · {k.availablePermits} available · {k.totalPermits} total
                  </p>
                </div>
              </div>
              <div className="grid gap-4 lg:grid-cols-2">
                <div>
                  <h3 className="text-sm font-semibold text-slate-700">Message and error rates (/s)</h3>
                  <TrendChart data={samples} series={[{ key: "msg", label: "messages", color: "#2563eb" }, { key: "err", label: "errors", color: "#dc2626" }]} />
                </div>
                <div>
                  <h3 className="text-sm font-semibold text-slate-700">Buffer saturation (%)</h3>
                  <TrendChart data={samples} series={[{ key: "sat", label: "saturation", color: "#d97706" }]} unit="%" threshold={{ value: 80, label: "revoke 80%" }} domain={[0, 100]} />
                </div>
              </div>
            </div>
          );
        }}
      </Query>
    </Card>
  );
}

export function Etl() {
  return (
    <>
      <PageTitle sub="The Unified ETL Engine in meta and the broker's permit kernel.">ETL engine</PageTitle>
      <div className="grid gap-4 xl:grid-cols-2">
        <Tree />
        <Kernel />
      </div>
    </>
  );
}

