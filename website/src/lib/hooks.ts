"use client";
// TanStack Query wrappers around rpc().

import { useMutation, useQuery, useQueryClient, type UseQueryOptions } from "@tanstack/react-query";
import { usePathname, useRouter } from "next/navigation";
import { useCallback, useEffect, useMemo, useState } from "react";
import { RPCError, rpc, type Target } from "./rpc";
import { debouncer } from "./search";

type Opts<T> = Omit<UseQueryOptions<T, Error>, "queryKey" | "queryFn">;

/** useRPC runs one RPC as a query keyed by target, method and params. */
export function useRPC<T>(target: Target, method: string, params?: Record<string, unknown>, opts: Opts<T> = {}) {
  return useQuery<T, Error>({
    queryKey: [target, method, params ?? {}],
    queryFn: ({ signal }) => rpc<T>(target, method, params, { signal }),
    // A method the backend does not have will not appear by retrying.
    retry: (n, err) => !(err instanceof RPCError && (err.missing || err.retcode === 400)) && n < 1,
    ...opts,
  });
}

/** useRPCAction runs a state-changing RPC and refreshes the queries named in invalidate. */
export function useRPCAction<T>(target: Target, method: string, invalidate: string[] = []) {
  const qc = useQueryClient();
  return useMutation<T, Error, Record<string, unknown> | undefined>({
    mutationFn: (params) => rpc<T>(target, method, params),
    onSettled: () => {
      for (const m of invalidate) void qc.invalidateQueries({ predicate: (q) => q.queryKey[1] === m });
    },
  });
}

/** useDebounced returns value once it has stayed the same for delay ms (the first value at once). */
export function useDebounced<T>(value: T, delay: number): T {
  const [settled, setSettled] = useState(value);
  const d = useMemo(() => debouncer<T>(setSettled, delay), [delay]);
  useEffect(() => {
    d.push(value);
  }, [d, value]);
  useEffect(() => () => d.cancel(), [d]);
  return settled;
}

/**
 * useReplaceParams returns a function that sets (or, with null or "", removes)
 * query parameters of the current page without adding a history entry or
 * scrolling: what a page keeps in its URL (a search, a tab) survives a reload,
 * a shared link and the way back from a detail page.
 */
export function useReplaceParams() {
  const router = useRouter();
  const pathname = usePathname();
  return useCallback(
    (set: Record<string, string | null>) => {
      const u = new URLSearchParams(window.location.search);
      for (const [k, v] of Object.entries(set)) {
        if (v) u.set(k, v);
        else u.delete(k);
      }
      const qs = u.toString();
      router.replace(qs ? `${pathname}?${qs}` : pathname, { scroll: false });
    },
    [router, pathname],
  );
}
