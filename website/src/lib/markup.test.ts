import { describe, expect, it } from "vitest";
import { attackHref, markup } from "./markup";

describe("markup", () => {
  it("splits code, links and drops citations (text from ATT&CK T1562.003)", () => {
    const s =
      "tracked in <code>HISTFILE</code>. Also used in ESXi.(Citation: Google Cloud Threat Intelligence ESXi VIBs 2022) See [Network Device CLI](https://attack.mitre.org/techniques/T1059/008) too.";
    expect(markup(s)).toEqual([
      { type: "text", text: "tracked in " },
      { type: "code", text: "HISTFILE" },
      { type: "text", text: ". Also used in ESXi. See " },
      { type: "link", text: "Network Device CLI", href: "https://attack.mitre.org/techniques/T1059/008" },
      { type: "text", text: " too." },
    ]);
  });
  it("keeps plain text and empty input", () => {
    expect(markup("plain")).toEqual([{ type: "text", text: "plain" }]);
    expect(markup("")).toEqual([]);
    expect(markup(undefined)).toEqual([]);
  });
  it("does not treat other brackets or non-http links as markup", () => {
    expect(markup("[x](javascript:alert(1))")).toEqual([{ type: "text", text: "[x](javascript:alert(1))" }]);
  });
  it("maps attack.mitre.org URLs to pages", () => {
    expect(attackHref("https://attack.mitre.org/techniques/T1059/008")).toBe("/attack?id=T1059.008");
    expect(attackHref("https://attack.mitre.org/groups/G0007")).toBe("/attack?group=G0007");
    expect(attackHref("https://attack.mitre.org/campaigns/C0051")).toBe("/attack?campaign=C0051");
    expect(attackHref("https://example.com/x")).toBeUndefined();
  });
});
