import { describe, expect, it } from "vitest";
import { RPCError, camelKey, rpc, snakeKey, toCamel, toSnake } from "./rpc";

async function failure(p: Promise<unknown>): Promise<RPCError> {
  try {
    await p;
  } catch (e) {
    return e as RPCError;
  }
  throw new Error("the call did not fail");
}

function fakeFetch(status: number, body: unknown, seen: { url?: string; init?: RequestInit }[] = []) {
  return async (url: string, init?: RequestInit) => {
    seen.push({ url, init });
    return new Response(typeof body === "string" ? body : JSON.stringify(body), { status });
  };
}

describe("key conversion", () => {
  it.each([
    ["cvssMin", "cvss_min"],
    ["publishedFrom", "published_from"],
    ["cveId", "cve_id"],
    ["providerId", "provider_id"],
    ["limit", "limit"],
    ["p99LatencyMs", "p99_latency_ms"],
  ])("snakeKey(%s) = %s", (a, b) => expect(snakeKey(a)).toBe(b));

  it.each([
    ["cvss_severity", "cvssSeverity"],
    ["next_cursor", "nextCursor"],
    ["p99_latency_ms", "p99LatencyMs"],
    ["net_rx_rate", "netRxRate"],
    ["id", "id"],
    ["lastModified", "lastModified"],
  ])("camelKey(%s) = %s", (a, b) => expect(camelKey(a)).toBe(b));

  it("converts nested params and drops empty values", () => {
    expect(toSnake({ cvssMin: 7, query: "", vendor: undefined, kev: false, nested: { sessionId: "a" }, list: [{ dataType: "cve" }] })).toEqual({
      cvss_min: 7,
      kev: false,
      nested: { session_id: "a" },
      list: [{ data_type: "cve" }],
    });
  });

  it("converts payloads but keeps process ids under per_process", () => {
    const got = toCamel({ message_stats: { per_process: { my_proc: { total_sent: 3 } } }, cves: [{ cvss_score: 9.8, cwe_ids: ["CWE-79"] }] });
    expect(got).toEqual({ messageStats: { perProcess: { my_proc: { totalSent: 3 } } }, cves: [{ cvssScore: 9.8, cweIds: ["CWE-79"] }] });
  });

  it("leaves NVD camelCase objects as they are", () => {
    const cve = { id: "CVE-2026-0544", metrics: { cvssMetricV31: [{ cvssData: { baseScore: 9.8 } }] } };
    expect(toCamel(cve)).toEqual(cve);
  });
});

describe("rpc", () => {
  it("posts method, target and snake_case params to /restful/rpc", async () => {
    const seen: { url?: string; init?: RequestInit }[] = [];
    const out = await rpc<{ nextCursor: string; total: number }>("local", "RPCSearchCVEs", { cvssMin: 7, query: "sql" }, {
      fetch: fakeFetch(200, { retcode: 0, message: "success", payload: { next_cursor: "abc", total: 2 } }, seen),
    });
    expect(out).toEqual({ nextCursor: "abc", total: 2 });
    expect(seen[0].url).toBe("/restful/rpc");
    expect(seen[0].init?.method).toBe("POST");
    expect(JSON.parse(String(seen[0].init?.body))).toEqual({ method: "RPCSearchCVEs", target: "local", params: { cvss_min: 7, query: "sql" } });
  });

  it("omits params when there are none", async () => {
    const seen: { url?: string; init?: RequestInit }[] = [];
    await rpc("broker", "RPCListProcesses", undefined, { fetch: fakeFetch(200, { retcode: 0, message: "success", payload: null }, seen) });
    expect(JSON.parse(String(seen[0].init?.body))).toEqual({ method: "RPCListProcesses", target: "broker" });
  });

  it("turns retcode 500 into an RPCError carrying the backend's message", async () => {
    const err = await failure(rpc("local", "RPCGetRelated", { urn: "v2e::nvd::cve::CVE-1" }, {
      fetch: fakeFetch(200, { retcode: 500, message: "no handler found for method: RPCGetRelated", payload: null }),
    }));
    expect(err).toBeInstanceOf(RPCError);
    expect(err.message).toBe("no handler found for method: RPCGetRelated");
    expect(err.retcode).toBe(500);
    expect(err.method).toBe("RPCGetRelated");
    expect(err.missing).toBe(true);
  });

  it("reports a 400 envelope", async () => {
    const err = await failure(rpc("broker", "X", undefined, {
      fetch: fakeFetch(400, { retcode: 400, message: "Invalid request: body must be a JSON object", payload: null }),
    }));
    expect(err.status).toBe(400);
    expect(err.missing).toBe(false);
    expect(err.message).toMatch(/Invalid request/);
  });

  it("reports a body that is not JSON", async () => {
    const err = await failure(rpc("broker", "X", undefined, { fetch: fakeFetch(502, "<html>bad gateway</html>") }));
    expect(err).toBeInstanceOf(RPCError);
    expect(err.message).toBe("HTTP 502: the answer is not JSON");
  });

  it("reports a network failure", async () => {
    const err = await failure(rpc("broker", "X", undefined, {
      fetch: async () => {
        throw new TypeError("Failed to fetch");
      },
    }));
    expect(err.message).toBe("cannot reach the server: Failed to fetch");
  });
});
