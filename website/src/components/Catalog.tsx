"use client";
// A catalogue list with paging, and a search that loads the whole catalogue
// (lists cap at 1000 per call, so it pages through) and filters it by id and
// name in the browser.

import { useQuery } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { Button, Empty, ErrorState, Pager, Skeleton, inputClass } from "@/components/ui";
import { useRPC } from "@/lib/hooks";
import { rpc, type Target } from "@/lib/rpc";

export interface ListSpec<T> {
  target: Target;
  method: string;
  /** key of the list in the payload ("cwes", "capecs", …) */
  key: string;
  params?: Record<string, unknown>;
  render: (items: T[]) => ReactNode;
  text: (item: T) => string;
  pageSize?: number;
  placeholder?: string;
}

type Page<T> = Record<string, unknown> & { total?: number };

/** fetchAll pages through a list method until total is reached (at most 20 calls). */
export async function fetchAll<T>(target: Target, method: string, key: string, params: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < 20; i++) {
    const p = await rpc<Page<T>>(target, method, { ...params, offset: out.length, limit: 1000 }, { signal });
    const items = (p[key] as T[] | null) ?? [];
    out.push(...items);
    if (items.length === 0 || p.total == null || out.length >= p.total) break;
  }
  return out;
}

export function CatalogList<T>({ spec }: { spec: ListSpec<T> }) {
  const size = spec.pageSize ?? 50;
  const [offset, setOffset] = useState(0);
  const [text, setText] = useState("");
  const searching = text.trim().length > 0;
  const page = useRPC<Page<T>>(spec.target, spec.method, { ...spec.params, offset, limit: size }, { enabled: !searching, placeholderData: (p) => p });
  const all = useQuery({
    queryKey: [spec.target, spec.method, "all", spec.params ?? {}],
    queryFn: ({ signal }) => fetchAll<T>(spec.target, spec.method, spec.key, spec.params, signal),
    enabled: searching,
    retry: false,
    staleTime: 60_000,
  });
  const needle = text.trim().toLowerCase();
  const found = searching && all.data ? all.data.filter((x) => spec.text(x).toLowerCase().includes(needle)) : [];

  return (
    <div>
      <div className="mb-3 flex gap-2">
        <input
          role="searchbox"
          aria-label={`Search ${spec.key}`}
          className={`${inputClass} flex-1`}
          placeholder={spec.placeholder ?? "Filter by id or name"}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        {searching && (
          <Button variant="secondary" onClick={() => setText("")}>
            Clear
          </Button>
        )}
      </div>
      {searching ? (
        all.isPending ? (
          <Skeleton rows={6} />
        ) : all.isError ? (
          <ErrorState error={all.error} />
        ) : found.length === 0 ? (
          <Empty>Nothing matches “{text}”.</Empty>
        ) : (
          <>
            <p className="mb-2 text-sm text-slate-600" data-testid="match-count">
              {found.length} match{found.length === 1 ? "" : "es"}
            </p>
            {spec.render(found.slice(0, 200))}
          </>
        )
      ) : page.isPending ? (
        <Skeleton rows={8} />
      ) : page.isError ? (
        <ErrorState error={page.error} onRetry={() => void page.refetch()} />
      ) : !((page.data[spec.key] as T[] | null) ?? []).length ? (
        <Empty>The catalogue is empty. Imports run at startup; see the Jobs and ETL tabs.</Empty>
      ) : (
        <>
          {spec.render((page.data[spec.key] as T[]) ?? [])}
          <Pager offset={offset} limit={size} total={page.data.total} onChange={setOffset} />
        </>
      )}
    </div>
  );
}
