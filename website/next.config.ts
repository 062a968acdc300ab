import type { NextConfig } from "next";

// Static export: `next build` writes the site to out/, which access serves
// (access.static_dir). No Node.js runs in production.
const nextConfig: NextConfig = {
  output: "export",
  // out/cve/index.html rather than out/cve.html: Next also writes an out/cve/ folder of
  // RSC payloads, which would shadow cve.html for the plain file server in access.
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
};

export default nextConfig;
