// MITRE descriptions carry a little markup: <code>…</code>, Markdown links
// and "(Citation: …)" notes. markup() splits such text into typed segments
// that the UI renders as elements (never as HTML).

export type Segment = { type: "text"; text: string } | { type: "code"; text: string } | { type: "link"; text: string; href: string };

const TOKEN = /<code>([\s\S]*?)<\/code>|\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)|\(Citation:[^)]*\)/g;

export function markup(s: string | null | undefined): Segment[] {
  if (!s) return [];
  const out: Segment[] = [];
  let last = 0;
  const push = (text: string) => {
    if (!text) return;
    const prev = out.at(-1);
    if (prev?.type === "text") prev.text += text;
    else out.push({ type: "text", text });
  };
  for (const m of s.matchAll(TOKEN)) {
    push(s.slice(last, m.index));
    if (m[1] !== undefined) out.push({ type: "code", text: m[1] });
    else if (m[2] !== undefined) out.push({ type: "link", text: m[2], href: m[3] });
    last = m.index! + m[0].length;
  }
  push(s.slice(last));
  return out;
}

/** attackHref maps an attack.mitre.org URL to the UI's page for that object, when it is one. */
export function attackHref(url: string): string | undefined {
  const m = /^https:\/\/attack\.mitre\.org\/(techniques|groups|software|mitigations|tactics|campaigns)\/([A-Z]+\d+)(?:\/(\d{3}))?\/?$/.exec(url);
  if (!m) return undefined;
  const id = m[3] ? `${m[2]}.${m[3]}` : m[2];
  const kind = { techniques: "id", groups: "group", software: "software", mitigations: "mitigation", tactics: "tactic", campaigns: "campaign" }[m[1]];
  return `/attack?${kind}=${id}`;
}
