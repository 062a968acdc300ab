import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_QUERY, debouncer, filterText, listParams, matchLabel } from "./search";
import { toSnake } from "./rpc";

describe("filterText", () => {
  it.each([
    ["", ""],
    ["   ", ""],
    ["  sql   injection ", "sql injection"],
    ["T1059\t.001", "T1059 .001"],
    ["CWE-79", "CWE-79"],
  ])("%j → %j", (a, b) => expect(filterText(a)).toBe(b));

  it("keeps at most MAX_QUERY characters, counting characters, not UTF-16 units", () => {
    expect(filterText("a".repeat(MAX_QUERY + 50))).toHaveLength(MAX_QUERY);
    const emoji = filterText("🔒".repeat(MAX_QUERY + 1));
    expect(Array.from(emoji)).toHaveLength(MAX_QUERY);
  });
});

describe("listParams", () => {
  it("sends q only when there is one, beside the caller's params and the page", () => {
    expect(listParams({ domain: "ics" }, 50, 50, "")).toEqual({ domain: "ics", offset: 50, limit: 50 });
    expect(listParams(undefined, 0, 50, "phishing")).toEqual({ offset: 0, limit: 50, q: "phishing" });
    expect(toSnake(listParams({ domain: "enterprise" }, 0, 25, "T1059"))).toEqual({ domain: "enterprise", offset: 0, limit: 25, q: "T1059" });
  });
});

describe("matchLabel", () => {
  it("counts matches", () => {
    expect(matchLabel(1, "CWE-79")).toBe("1 match for “CWE-79”");
    expect(matchLabel(1234, "input")).toBe("1,234 matches for “input”");
    expect(matchLabel(0, "zz")).toBe("0 matches for “zz”");
  });
});

describe("debouncer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sends only the last value, once the typing pauses", () => {
    const sent: string[] = [];
    const d = debouncer((v: string) => sent.push(v), 300);
    for (const v of ["p", "ph", "phi", "phishing"]) {
      d.push(v);
      vi.advanceTimersByTime(100);
    }
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(200);
    expect(sent).toEqual(["phishing"]);
    d.push("T1059");
    vi.advanceTimersByTime(299);
    expect(sent).toEqual(["phishing"]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual(["phishing", "T1059"]);
  });

  it("sends nothing after cancel", () => {
    const sent: string[] = [];
    const d = debouncer((v: string) => sent.push(v), 300);
    d.push("x");
    d.cancel();
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([]);
  });
});
