import { describe, expect, it } from "vitest";
import {
  formatBytes,
  formatDate,
  formatDuration,
  formatETA,
  formatPercent,
  formatRate,
  normalizeCAPEC,
  normalizeCWE,
  progressPercent,
  severityOf,
  stateClass,
  truncate,
} from "./format";

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [25 * 1024 ** 3, "25.0 GiB"],
    [-2048, "-2.0 KiB"],
    [null, "—"],
    [Number.NaN, "—"],
  ])("formatBytes(%s) = %s", (n, want) => expect(formatBytes(n as number)).toBe(want));
  it("adds /s for rates", () => expect(formatRate(2048)).toBe("2.0 KiB/s"));
});

describe("formatDuration and formatETA", () => {
  it.each([
    [5, "5s"],
    [65, "1m 5s"],
    [3723, "1h 2m"],
    [90061, "1d 1h"],
    [-1, "—"],
  ])("formatDuration(%s) = %s", (s, want) => expect(formatDuration(s)).toBe(want));
  it("reads an ETA in seconds or as a time", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    expect(formatETA(125, now)).toBe("2m 5s");
    expect(formatETA(0, now)).toBe("done");
    expect(formatETA("2026-01-01T01:00:00Z", now)).toBe("1h 0m");
    expect(formatETA("2025-12-31T00:00:00Z", now)).toBe("done");
    expect(formatETA(undefined, now)).toBe("—");
  });
});

describe("formatDate", () => {
  it("treats NVD timestamps as UTC", () => expect(formatDate("2026-01-01T09:15:51.113")).toBe("2026-01-01 09:15 UTC"));
  it("converts zoned times to UTC", () => expect(formatDate("2026-01-01T10:15:00+01:00")).toBe("2026-01-01 09:15 UTC"));
  it("keeps bare dates and garbage", () => {
    expect(formatDate("2026-01-01")).toBe("2026-01-01");
    expect(formatDate("soon")).toBe("soon");
    expect(formatDate("")).toBe("—");
  });
});

describe("severity and ids", () => {
  it.each([
    [9.8, "CRITICAL"],
    [9.0, "CRITICAL"],
    [7.5, "HIGH"],
    [4.0, "MEDIUM"],
    [0.1, "LOW"],
    [0, "NONE"],
  ])("severityOf(%s) = %s", (s, want) => expect(severityOf(s)).toBe(want));
  it("normalizes CWE and CAPEC ids", () => {
    expect(normalizeCWE("79")).toBe("CWE-79");
    expect(normalizeCWE("cwe-89")).toBe("CWE-89");
    expect(normalizeCWE("NVD-CWE-Other")).toBe("NVD-CWE-Other");
    expect(normalizeCAPEC("66")).toBe("CAPEC-66");
  });
  it("colours states by kind", () => {
    expect(stateClass("RUNNING")).toContain("emerald");
    expect(stateClass("paused")).toContain("amber");
    expect(stateClass("failed")).toContain("red");
    expect(stateClass("IDLE")).toContain("slate");
  });
});

describe("misc", () => {
  it("computes progress", () => {
    expect(progressPercent(50, 200)).toBe(25);
    expect(progressPercent(300, 200)).toBe(100);
    expect(progressPercent(1, 0)).toBeUndefined();
  });
  it("formats percentages and truncates", () => {
    expect(formatPercent(12.345)).toBe("12.3%");
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
  });
});
