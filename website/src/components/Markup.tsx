"use client";

import Link from "next/link";
import { attackHref, markup } from "@/lib/markup";

/** Markup renders MITRE text: code spans, links (ATT&CK ones inside the UI), no citations. */
export function Markup({ text, className = "" }: { text?: string | null; className?: string }) {
  return (
    <p className={`whitespace-pre-line text-sm ${className}`}>
      {markup(text).map((s, i) => {
        if (s.type === "code") return <code key={i} className="rounded bg-slate-100 px-1 font-mono text-[0.85em]">{s.text}</code>;
        if (s.type === "link") {
          const local = attackHref(s.href);
          return local ? (
            <Link key={i} href={local} className="text-blue-700 hover:underline">
              {s.text}
            </Link>
          ) : (
            <a key={i} href={s.href} target="_blank" rel="noreferrer noopener" className="text-blue-700 hover:underline">
              {s.text}
            </a>
          );
        }
        return <span key={i}>{s.text}</span>;
      })}
    </p>
  );
}
