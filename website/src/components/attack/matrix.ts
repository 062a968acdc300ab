// Building the ATT&CK matrix from the tactic and technique lists.

export interface AttackObject {
  id: string;
  name: string;
  description?: string;
  url?: string;
  domain?: string;
  domains?: string[];
  version?: string;
  created?: string;
  lastModified?: string;
  deprecated?: boolean;
  revoked?: boolean;
  platforms?: string[];
  aliases?: string[];
  type?: string;
}

export interface Tactic extends AttackObject {
  matrixOrder?: number;
  shortName?: string;
}

export interface Technique extends AttackObject {
  tactics?: string[];
  tacticIds?: string[];
  detection?: string;
  isSubtechnique?: boolean;
  parent?: string;
}

export interface Column {
  tactic: Tactic;
  techniques: { technique: Technique; subs: Technique[] }[];
}

/** buildMatrix puts each top-level technique under every tactic it serves, sub-techniques under their parent, both by name. */
export function buildMatrix(tactics: Tactic[], techniques: Technique[]): Column[] {
  const live = techniques.filter((t) => !t.deprecated && !t.revoked);
  const subs = new Map<string, Technique[]>();
  for (const t of live) {
    const parent = t.parent ?? (t.isSubtechnique ? t.id.split(".")[0] : undefined);
    if (t.isSubtechnique || (parent && parent !== t.id)) {
      if (!parent) continue;
      subs.set(parent, [...(subs.get(parent) ?? []), t]);
    }
  }
  const top = live.filter((t) => !(t.isSubtechnique || t.id.includes(".")));
  const order = (t: Tactic) => t.matrixOrder ?? Number.MAX_SAFE_INTEGER;
  const cols = [...tactics].filter((t) => !t.deprecated && !t.revoked).sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));
  return cols.map((tactic) => {
    const name = tactic.name.toLowerCase();
    const techs = top
      .filter((t) => t.tacticIds?.includes(tactic.id) || t.tactics?.some((n) => n.toLowerCase() === name))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((technique) => ({ technique, subs: (subs.get(technique.id) ?? []).sort((a, b) => a.id.localeCompare(b.id)) }));
    return { tactic, techniques: techs };
  });
}
