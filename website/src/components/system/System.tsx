"use client";
// System: host trends (CPU, memory, disk, network), the per-process table
// with restarts, and the broker's message statistics.

import { Card, Meter, PageTitle, Query, Stat, StateBadge, Table } from "@/components/ui";
import { TrendChart } from "@/components/Sparkline";
import { formatBytes, formatDate, formatDuration, formatNumber, formatPercent, formatRate } from "@/lib/format";
import { useRPC } from "@/lib/hooks";

export interface HostSample {
  time?: string;
  cpuUsage: number;
  memoryUsage: number;
  memoryTotal?: number;
  loadAvg?: number[];
  uptime?: number;
  diskUsage?: number;
  diskTotal?: number;
  swapUsage?: number;
  netRx?: number;
  netTx?: number;
  netRxRate?: number;
  netTxRate?: number;
}

export interface SysMetrics extends HostSample {
  processes?: { id: string; pid: number; cpu: number; rss: number }[] | null;
  messageStats?: { total?: Record<string, number>; perProcess?: Record<string, Record<string, number>> } | null;
  history?: HostSample[] | null;
}

interface Proc {
  id: string;
  pid: number;
  status: string;
  restarts: number;
  startedAt?: string | null;
  command?: string;
}

interface MessageStats {
  total: Record<string, number>;
  perProcess?: Record<string, Record<string, number>>;
  dropped?: number;
  refused?: number;
  undecodable?: number;
  pending?: number;
}

/** historyRows turns sysmon's history into chart rows (t in ms). */
export function historyRows(h: HostSample[] | null | undefined): Record<string, number>[] {
  return (h ?? [])
    .filter((s) => s.time)
    .map((s) => ({
      t: Date.parse(s.time!),
      cpu: s.cpuUsage,
      mem: s.memoryUsage,
      disk: s.diskUsage ?? 0,
      rx: (s.netRxRate ?? 0) / 1024,
      tx: (s.netTxRate ?? 0) / 1024,
    }))
    .filter((r) => Number.isFinite(r.t));
}

function Host() {
  const q = useRPC<SysMetrics>("sysmon", "RPCGetSysMetrics", { history: true }, { refetchInterval: 2000 });
  return (
    <Query q={q} rows={6}>
      {(m) => {
        const rows = historyRows(m.history);
        return (
          <div className="space-y-4">
            <div className="grid grid-cols-2 gap-3 md:grid-cols-3 lg:grid-cols-6" data-testid="host">
              <Stat label="CPU" value={formatPercent(m.cpuUsage)} hint={<Meter value={m.cpuUsage} label="CPU usage" className="mt-1" />} testId="cpu" />
              <Stat label="Memory" value={formatPercent(m.memoryUsage)} hint={<>of {formatBytes(m.memoryTotal)}<Meter value={m.memoryUsage} label="Memory usage" className="mt-1" /></>} testId="memory" />
              <Stat label="Disk" value={formatPercent(m.diskUsage)} hint={<>of {formatBytes(m.diskTotal)}<Meter value={m.diskUsage} label="Disk usage" className="mt-1" /></>} />
              <Stat label="Swap" value={formatPercent(m.swapUsage)} />
              <Stat label="Load" value={(m.loadAvg ?? []).map((x) => x.toFixed(2)).join(" ") || "—"} hint={`up ${formatDuration(m.uptime)}`} />
              <Stat label="Network" value={<span className="text-base">↓ {formatRate(m.netRxRate)}</span>} hint={`↑ ${formatRate(m.netTxRate)} · total ↓ ${formatBytes(m.netRx)} ↑ ${formatBytes(m.netTx)}`} />
            </div>
            <div className="grid gap-4 lg:grid-cols-3">
              <Card title="CPU and memory (%)" className="lg:col-span-2">
                <TrendChart data={rows} unit="%" domain={[0, 100]} series={[{ key: "cpu", label: "CPU", color: "#2563eb" }, { key: "mem", label: "memory", color: "#7c3aed" }, { key: "disk", label: "disk", color: "#64748b" }]} />
              </Card>
              <Card title="Network (KiB/s)">
                <TrendChart data={rows} series={[{ key: "rx", label: "received", color: "#059669" }, { key: "tx", label: "sent", color: "#d97706" }]} />
              </Card>
            </div>
            <Processes sys={m} />
          </div>
        );
      }}
    </Query>
  );
}

function Processes({ sys }: { sys: SysMetrics }) {
  const q = useRPC<{ processes: Proc[] | null }>("broker", "RPCListProcesses", undefined, { refetchInterval: 3000 });
  const usage = new Map((sys.processes ?? []).map((p) => [p.id, p]));
  return (
    <Card title="Processes">
      <Query q={q} rows={5} empty={(d) => !d.processes?.length}>
        {(d) => (
          <Table head={["Process", "PID", "Status", "Restarts", "Started", "CPU", "Memory (RSS)"]} caption="Processes">
            {(d.processes ?? []).map((p) => {
              const u = usage.get(p.id);
              return (
                <tr key={p.id} data-testid="process-row">
                  <td className="px-2 py-2 font-mono font-medium">{p.id}</td>
                  <td className="px-2 py-2 font-mono text-xs">{p.pid || "—"}</td>
                  <td className="px-2 py-2">
                    <StateBadge state={p.status} />
                  </td>
                  <td className={`px-2 py-2 ${p.restarts > 0 ? "font-semibold text-amber-700" : ""}`}>{p.restarts}</td>
                  <td className="whitespace-nowrap px-2 py-2 text-xs">{formatDate(p.startedAt)}</td>
                  <td className="px-2 py-2">{u ? formatPercent(u.cpu) : "—"}</td>
                  <td className="px-2 py-2">{u ? formatBytes(u.rss) : "—"}</td>
                </tr>
              );
            })}
          </Table>
        )}
      </Query>
    </Card>
  );
}

const STAT_COLUMNS: [string, string][] = [
  ["totalSent", "Sent"],
  ["totalReceived", "Received"],
  ["requestCount", "Requests"],
  ["responseCount", "Responses"],
  ["eventCount", "Events"],
  ["errorCount", "Errors"],
];

function Messages() {
  const q = useRPC<MessageStats>("broker", "RPCGetMessageStats", undefined, { refetchInterval: 3000 });
  return (
    <Card title="Message statistics (broker)">
      <Query q={q} rows={4}>
        {(s) => (
          <div className="space-y-3" data-testid="messages">
            <div className="grid grid-cols-2 gap-3 md:grid-cols-6">
              {STAT_COLUMNS.map(([k, l]) => (
                <Stat key={k} label={l} value={formatNumber(s.total?.[k])} />
              ))}
            </div>
            <p className="text-xs text-slate-500">
              dropped {formatNumber(s.dropped)} · refused {formatNumber(s.refused)} · undecodable {formatNumber(s.undecodable)} · pending {formatNumber(s.pending)}
            </p>
            <Table head={["Process", ...STAT_COLUMNS.map(([, l]) => l)]} caption="Messages per process">
              {Object.entries(s.perProcess ?? {})
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([id, st]) => (
                  <tr key={id}>
                    <td className="px-2 py-1.5 font-mono">{id}</td>
                    {STAT_COLUMNS.map(([k]) => (
                      <td key={k} className="px-2 py-1.5">
                        {formatNumber(st[k])}
                      </td>
                    ))}
                  </tr>
                ))}
            </Table>
          </div>
        )}
      </Query>
    </Card>
  );
}

export function System() {
  return (
    <>
      <PageTitle sub="The host, each process the broker runs, and the messages between them.">System</PageTitle>
      <div className="space-y-4">
        <Host />
        <Messages />
      </div>
    </>
  );
}
