// RPC client for access's POST /restful/rpc (contract §3). Params go out in
// snake_case, payloads come back in camelCase, and any answer whose retcode is
// not 0 (or that is not an envelope at all) becomes an RPCError that the UI
// shows to the user.

export type Target = "broker" | "local" | "remote" | "meta" | "sysmon";

/** Keys that hold data rather than field names: their children keep their keys. */
const OPAQUE_KEYS = new Set(["perProcess", "per_process"]);

export function snakeKey(k: string): string {
  return k.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z])([A-Z][a-z])/g, "$1_$2").toLowerCase();
}

export function camelKey(k: string): string {
  return k.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

function convert(v: unknown, key: (k: string) => string, opaque: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => convert(x, key, false));
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const nk = opaque ? k : key(k);
    out[nk] = convert(x, key, !opaque && OPAQUE_KEYS.has(k));
  }
  return out;
}

/** toSnake converts every object key to snake_case, recursively. undefined and "" values are dropped at the top level. */
export function toSnake(params: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!params) return undefined;
  const clean: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === "" || (typeof v === "number" && Number.isNaN(v))) continue;
    clean[k] = v;
  }
  return convert(clean, snakeKey, false) as Record<string, unknown>;
}

/** toCamel converts every object key to camelCase, recursively (keys under perProcess are kept). */
export function toCamel<T = unknown>(payload: unknown): T {
  return convert(payload, camelKey, false) as T;
}

export class RPCError extends Error {
  constructor(
    message: string,
    readonly method: string,
    readonly target: string,
    readonly retcode: number,
    readonly status: number,
  ) {
    super(message);
    this.name = "RPCError";
  }

  /** missing is true when the backend has no such method or process yet. */
  get missing(): boolean {
    return /no handler found|target process .* not found|is not running/i.test(this.message);
  }
}

export interface Envelope {
  retcode: number;
  message: string;
  payload: unknown;
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface CallOptions {
  fetch?: Fetch;
  signal?: AbortSignal;
  endpoint?: string;
}

/** rpc calls method on target and returns the payload with camelCase keys. */
export async function rpc<T = unknown>(
  target: Target,
  method: string,
  params?: Record<string, unknown>,
  opts: CallOptions = {},
): Promise<T> {
  const f = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const body: Record<string, unknown> = { method, target };
  const p = toSnake(params);
  if (p && Object.keys(p).length > 0) body.params = p;
  let res: Response;
  try {
    res = await f(opts.endpoint ?? "/restful/rpc", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: opts.signal,
    });
  } catch (e) {
    if ((e as Error)?.name === "AbortError") throw e;
    throw new RPCError(`cannot reach the server: ${(e as Error)?.message ?? e}`, method, target, 0, 0);
  }
  let env: Envelope;
  try {
    env = (await res.json()) as Envelope;
  } catch {
    throw new RPCError(`HTTP ${res.status}: the answer is not JSON`, method, target, res.status, res.status);
  }
  if (!env || typeof env !== "object" || typeof env.retcode !== "number") {
    throw new RPCError(`HTTP ${res.status}: the answer is not an envelope`, method, target, res.status, res.status);
  }
  if (env.retcode !== 0) {
    throw new RPCError(env.message || `retcode ${env.retcode}`, method, target, env.retcode, res.status);
  }
  return toCamel<T>(env.payload);
}
