import { describe, expect, it } from "vitest";
import { buildMatrix, type Tactic, type Technique } from "./matrix";

const tactics: Tactic[] = [
  { id: "TA0002", name: "Execution", matrixOrder: 2 },
  { id: "TA0001", name: "Initial Access", matrixOrder: 1 },
  { id: "TA0099", name: "Gone", matrixOrder: 0, deprecated: true },
];
const techniques: Technique[] = [
  { id: "T1059", name: "Command and Scripting Interpreter", tacticIds: ["TA0002"] },
  { id: "T1059.001", name: "PowerShell", tacticIds: ["TA0002"], isSubtechnique: true, parent: "T1059" },
  { id: "T1059.003", name: "Windows Command Shell", tacticIds: ["TA0002"], isSubtechnique: true },
  { id: "T1190", name: "Exploit Public-Facing Application", tactics: ["initial access"] },
  { id: "T1078", name: "Valid Accounts", tacticIds: ["TA0001", "TA0002"] },
  { id: "T1000", name: "Revoked One", tacticIds: ["TA0001"], revoked: true },
];

describe("buildMatrix", () => {
  const m = buildMatrix(tactics, techniques);
  it("orders tactics by matrix order and drops deprecated ones", () => {
    expect(m.map((c) => c.tactic.id)).toEqual(["TA0001", "TA0002"]);
  });
  it("places techniques under every tactic, by name, by id or tactic name", () => {
    expect(m[0].techniques.map((t) => t.technique.id)).toEqual(["T1190", "T1078"]);
    expect(m[1].techniques.map((t) => t.technique.id)).toEqual(["T1059", "T1078"]);
  });
  it("nests sub-techniques under their parent, with or without a parent field", () => {
    expect(m[1].techniques[0].subs.map((s) => s.id)).toEqual(["T1059.001", "T1059.003"]);
  });
});
