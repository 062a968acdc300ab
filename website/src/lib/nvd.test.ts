import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cvssRows, englishDescription, parseCPE, versionRange, weaknessIds, type NvdCve } from "./nvd";

// The real NVD 2.0 feed the project ships.
const feed = JSON.parse(readFileSync(fileURLToPath(new URL("../../../assets/nvd/nvdcve-2.0-2026.json", import.meta.url)), "utf8")) as {
  vulnerabilities: { cve: NvdCve }[];
};
const byId = new Map(feed.vulnerabilities.map((v) => [v.cve.id, v.cve]));

describe("NVD records from assets/nvd/nvdcve-2.0-2026.json", () => {
  const first = byId.get("CVE-2026-0544")!;

  it("reads the English description", () => {
    expect(englishDescription(first)).toMatch(/^A security flaw has been discovered in itsourcecode School Management System/);
  });

  it("lists every CVSS version with its vector", () => {
    const rows = cvssRows(first);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0].version).toBe("4.0");
    expect(rows[0].vector).toMatch(/^CVSS:4\.0\//);
    for (const r of rows) expect(r.score).toBeTypeOf("number");
    const versions = new Set(rows.map((r) => r.version));
    // every version the record carries is shown
    for (const [k, v] of [["cvssMetricV40", "4.0"], ["cvssMetricV31", "3.1"], ["cvssMetricV30", "3.0"], ["cvssMetricV2", "2.0"]] as const) {
      if (first.metrics?.[k]?.length) expect(versions.has(v)).toBe(true);
    }
  });

  it("finds weaknesses across the feed", () => {
    let withCWE = 0;
    for (const cve of byId.values()) {
      for (const id of weaknessIds(cve)) {
        expect(id).toMatch(/^(CWE-\d+|NVD-CWE-\w+)$/);
        withCWE++;
      }
    }
    expect(withCWE).toBeGreaterThan(100);
  });

  it("parses every CPE criteria of the feed", () => {
    let n = 0;
    for (const cve of byId.values()) {
      for (const cfg of cve.configurations ?? []) {
        for (const node of cfg.nodes ?? []) {
          for (const m of node.cpeMatch ?? []) {
            const cpe = parseCPE(m.criteria);
            expect(cpe, m.criteria).toBeDefined();
            expect(cpe!.vendor.length).toBeGreaterThan(0);
            versionRange(m);
            n++;
          }
        }
      }
    }
    expect(n).toBeGreaterThan(50);
  });
});

describe("parseCPE", () => {
  it("unescapes and names the part", () => {
    expect(parseCPE("cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*")).toEqual({ part: "application", vendor: "apache", product: "log4j", version: "2.14.1" });
    expect(parseCPE("cpe:2.3:o:micro\\:soft:win\\_dows:10:*:*:*:*:*:*:*")).toEqual({ part: "operating system", vendor: "micro:soft", product: "win_dows", version: "10" });
    expect(parseCPE("cpe:/a:apache:log4j")).toBeUndefined();
  });
  it("describes version ranges", () => {
    expect(versionRange({ criteria: "", versionStartIncluding: "2.0", versionEndExcluding: "2.15.0" })).toBe(">= 2.0, < 2.15.0");
  });
});
