"use client";
// A small time-series chart (Recharts) used for live trends.

import { Area, AreaChart, CartesianGrid, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export interface Series {
  key: string;
  label: string;
  color: string;
}

export function TrendChart({ data, series, unit = "", height = 160, threshold, domain }: { data: Record<string, number>[]; series: Series[]; unit?: string; height?: number; threshold?: { value: number; label: string }; domain?: [number, number | "auto"] }) {
  if (data.length < 2) return <div className="flex items-center justify-center text-xs text-slate-400" style={{ height }}>Collecting samples…</div>;
  return (
    <div style={{ height }} className="w-full">
      <ResponsiveContainer width="100%" height="100%">
        <AreaChart data={data} margin={{ top: 5, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
          <XAxis dataKey="t" tickFormatter={(t: number) => new Date(t).toISOString().slice(11, 19)} tick={{ fontSize: 10 }} minTickGap={40} />
          <YAxis width={56} tick={{ fontSize: 10 }} unit={unit} domain={domain ?? [0, "auto"]} tickFormatter={(v: number) => (Math.abs(v) >= 10_000 ? `${(v / 1000).toFixed(0)}k` : Math.abs(v) >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(1))} />
          <Tooltip labelFormatter={(t) => new Date(Number(t)).toISOString().slice(11, 19)} formatter={(v) => `${typeof v === "number" ? v.toFixed(2) : v}${unit}`} />
          {series.map((s) => (
            <Area key={s.key} type="monotone" dataKey={s.key} name={s.label} stroke={s.color} fill={s.color} fillOpacity={0.15} isAnimationActive={false} />
          ))}
          {threshold && <ReferenceLine y={threshold.value} stroke="#dc2626" strokeDasharray="4 4" label={{ value: threshold.label, fontSize: 10, fill: "#dc2626", position: "insideTopRight" }} />}
        </AreaChart>
      </ResponsiveContainer>
    </div>
  );
}
