"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

export const TABS = [
  { href: "/cve", label: "CVE" },
  { href: "/cwe", label: "CWE" },
  { href: "/capec", label: "CAPEC" },
  { href: "/attack", label: "ATT&CK" },
  { href: "/jobs", label: "Jobs" },
  { href: "/etl", label: "ETL engine" },
  { href: "/system", label: "System" },
];

export function Nav() {
  const path = usePathname() ?? "/";
  return (
    <nav aria-label="Main" className="overflow-x-auto">
      <ul className="flex gap-1 whitespace-nowrap">
        {TABS.map((t) => {
          const active = path === t.href || path.startsWith(`${t.href}/`) || path === `${t.href}.html`;
          return (
            <li key={t.href}>
              <Link
                href={t.href}
                aria-current={active ? "page" : undefined}
                className={`block rounded-md px-3 py-2 text-sm font-medium ${
                  active ? "bg-white text-slate-900 shadow-sm" : "text-slate-300 hover:bg-slate-800 hover:text-white"
                }`}
              >
                {t.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
