// The server-side text filter of the catalogue lists (q of RPCListCWEs,
// RPCListCAPECs, RPCListAttack*…): what the search box sends, and when.

/** The longest q the backend accepts, in characters. */
export const MAX_QUERY = 200;

/** filterText turns what the user typed into the q sent to the backend: blanks collapsed, at most MAX_QUERY characters ("" for no filter). */
export function filterText(text: string): string {
  return Array.from(text.trim().replace(/\s+/g, " ")).slice(0, MAX_QUERY).join("").trim();
}

/** listParams is the params of one page of a list: the caller's own (domain…), the page, and q when there is one. */
export function listParams(base: Record<string, unknown> | undefined, offset: number, limit: number, q: string): Record<string, unknown> {
  const p: Record<string, unknown> = { ...base, offset, limit };
  if (q) p.q = q;
  return p;
}

/** matchLabel says how many entries the backend found for q. */
export function matchLabel(total: number, q: string): string {
  return `${total.toLocaleString("en-US")} match${total === 1 ? "" : "es"} for “${q}”`;
}

export interface Debouncer<T> {
  push(value: T): void;
  cancel(): void;
}

/** debouncer calls fn with the last value pushed once delay ms have passed without another push. */
export function debouncer<T>(fn: (value: T) => void, delay: number): Debouncer<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    push(value) {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        fn(value);
      }, delay);
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
