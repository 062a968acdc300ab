"use client";
// A catalogue list with paging and a search box. The backend filters
// (q of RPCListCWEs, RPCListCAPECs, RPCListAttack*…): the box sends what was
// typed once typing pauses, and the pager walks the matches with the
// backend's total. The search is kept in the page's URL (?q=…), so a reload,
// a shared link or the way back from an item finds the same matches.

import { useSearchParams } from "next/navigation";
import { useEffect, useState, type ReactNode } from "react";
import { Button, Empty, ErrorState, Pager, Skeleton, inputClass } from "@/components/ui";
import { useDebounced, useReplaceParams, useRPC } from "@/lib/hooks";
import { rpc, type Target } from "@/lib/rpc";
import { MAX_QUERY, filterText, listParams, matchLabel } from "@/lib/search";

export interface ListSpec<T> {
  target: Target;
  method: string;
  /** key of the list in the payload ("cwes", "capecs", …) */
  key: string;
  params?: Record<string, unknown>;
  render: (items: T[]) => ReactNode;
  pageSize?: number;
  placeholder?: string;
}

type Page<T> = Record<string, unknown> & { total?: number };

/** The query parameter that holds a list's search text. */
export const SEARCH_PARAM = "q";

/** How long typing must pause before the search is sent. */
export const SEARCH_DELAY_MS = 300;

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
  const sp = useSearchParams();
  const replaceParams = useReplaceParams();
  const [text, setText] = useState(() => sp?.get(SEARCH_PARAM) ?? "");
  const q = useDebounced(filterText(text), SEARCH_DELAY_MS);
  useEffect(() => {
    if ((new URLSearchParams(window.location.search).get(SEARCH_PARAM) ?? "") !== q) replaceParams({ [SEARCH_PARAM]: q || null });
  }, [q, replaceParams]);
  const [offset, setOffset] = useState(0);
  // A new search or other params start again at the first page.
  const scope = JSON.stringify([q, spec.params ?? {}]);
  const [seen, setSeen] = useState(scope);
  if (seen !== scope) {
    setSeen(scope);
    setOffset(0);
  }
  const page = useRPC<Page<T>>(spec.target, spec.method, listParams(spec.params, offset, size, q), { placeholderData: (p) => p });
  const items = (page.data?.[spec.key] as T[] | null | undefined) ?? [];
  const waiting = filterText(text) !== q || page.isPlaceholderData;

  return (
    <div>
      <div className="mb-3 flex gap-2">
        <input
          role="searchbox"
          aria-label={`Search ${spec.key}`}
          className={`${inputClass} flex-1`}
          placeholder={spec.placeholder ?? "Filter by id, name or description"}
          maxLength={MAX_QUERY}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        {text && (
          <Button variant="secondary" onClick={() => setText("")}>
            Clear
          </Button>
        )}
      </div>
      {page.isPending ? (
        <Skeleton rows={8} />
      ) : page.isError ? (
        <ErrorState error={page.error} onRetry={() => void page.refetch()} />
      ) : (
        <div aria-busy={waiting} className={waiting ? "opacity-60" : undefined}>
          {q &&
            (waiting ? (
              <p className="mb-2 text-sm text-slate-500">Searching…</p>
            ) : (
              <p className="mb-2 text-sm text-slate-600" data-testid="match-count">
                {matchLabel(page.data.total ?? items.length, q)}
              </p>
            ))}
          {items.length === 0 ? (
            q ? <Empty>Nothing matches “{q}”.</Empty> : <Empty>The catalogue is empty. Imports run at startup; see the Jobs and ETL tabs.</Empty>
          ) : (
            <>
              {spec.render(items)}
              <Pager offset={offset} limit={size} total={page.data.total} onChange={setOffset} />
            </>
          )}
        </div>
      )}
    </div>
  );
}
