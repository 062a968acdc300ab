// End-to-end checks of the web UI in headless Chromium (Debian's package),
// driven by playwright-core, against a running platform.
//
//   V2E_URL=http://127.0.0.1:8080 node e2e/browser.mjs
//
// Environment: V2E_URL (required), CHROMIUM (default /usr/bin/chromium),
// SCREENSHOT_DIR (default: no screenshots), V2E_ONLY (comma list of checks).
//
// Each check prints one line "RESULT {json}" with name, status (pass, fail or
// skip) and message. A check is skipped only when the backend does not answer
// the method the tab needs yet ("no handler found" or a missing process); the
// message names the method. The process exits 1 when a check failed.

import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = (process.env.V2E_URL ?? "").replace(/\/$/, "");
if (!BASE) {
  console.error("V2E_URL is required");
  process.exit(2);
}
const EXE = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOT_DIR ?? "";
const ONLY = (process.env.V2E_ONLY ?? "").split(",").filter(Boolean);
const TIMEOUT = 20_000;

class Skip extends Error {}

function report(name, status, message = "") {
  console.log(`RESULT ${JSON.stringify({ name, status, message })}`);
}

/** call posts to /restful/rpc from node (to learn what the UI should show). */
async function call(target, method, params) {
  const res = await fetch(`${BASE}/restful/rpc`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ method, target, params }) });
  const env = await res.json();
  return env;
}

/** need skips the check when target does not answer method yet. */
async function need(target, method, params = {}) {
  const env = await call(target, method, params);
  if (env.retcode !== 0 && /no handler found|target process .* not found|is not running/i.test(env.message)) {
    throw new Skip(`${target} does not answer ${method} yet: ${env.message}`);
  }
  return env;
}

/** needImported skips when meta could not import a catalogue because local does not serve its import method yet. */
async function needImported(provider, total) {
  if (total > 0) return;
  const tree = await call("meta", "RPCGetEtlTree");
  const p = tree.payload?.providers?.find((x) => x.id === provider);
  if (p?.last_error && /not served|no handler found/i.test(p.last_error)) throw new Skip(`the ${provider} catalogue is not imported: ${p.last_error}`);
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function shot(page, name) {
  if (!SHOTS) return;
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

/** noErrorState fails when the page shows an error box, naming its text. */
async function noErrorState(page) {
  const errs = page.getByTestId("error-message");
  if ((await errs.count()) > 0) throw new Error(`the page shows an error: ${await errs.first().innerText()}`);
}

async function numberIn(locator) {
  const t = await locator.innerText();
  const m = /[\d,]+/.exec(t);
  assert(m, `no number in ${JSON.stringify(t)}`);
  return Number(m[0].replace(/,/g, ""));
}

/** search types q into the list's search box and waits until the list shows the backend's answer to params + q. */
async function search(page, method, params, q) {
  const want = await call("local", method, { ...params, q, limit: 1 });
  assert(want.retcode === 0, `${method} q=${q}: ${want.message}`);
  await page.getByRole("searchbox").fill(q);
  const label = `${want.payload.total.toLocaleString("en-US")} match${want.payload.total === 1 ? "" : "es"} for “${q}”`;
  await page
    .waitForFunction((l) => document.querySelector('[data-testid="match-count"]')?.textContent === l, label, { timeout: TIMEOUT })
    .catch(async () => {
      const shown = await page.getByTestId("match-count").allInnerTexts();
      throw new Error(`searching ${JSON.stringify(q)} does not show “${label}” (shows ${JSON.stringify(shown)})`);
    });
  return want.payload.total;
}

/** rowIDs returns the first cell of each row with that test id. */
async function rowIDs(page, testid) {
  return (await page.getByTestId(testid).locator("td:first-child").allInnerTexts()).map((t) => t.trim());
}

const checks = {
  async system(page) {
    const procs = (await need("broker", "RPCListProcesses")).payload.processes;
    await page.goto(`${BASE}/system/`);
    await page.getByTestId("process-row").first().waitFor({ timeout: TIMEOUT });
    const rows = page.getByTestId("process-row");
    assert((await rows.count()) === procs.length, `${await rows.count()} process rows, the broker lists ${procs.length}`);
    for (const p of procs) {
      const row = rows.filter({ hasText: p.id });
      assert((await row.count()) === 1, `no row for process ${p.id}`);
      assert((await row.innerText()).includes(String(p.pid)), `row of ${p.id} lacks its pid ${p.pid}`);
    }
    await need("sysmon", "RPCGetSysMetrics");
    await page.getByTestId("cpu").waitFor({ timeout: TIMEOUT });
    assert(/\d+\.\d%/.test(await page.getByTestId("cpu").innerText()), "CPU shows no percentage");
    assert(/\d+\.\d%/.test(await page.getByTestId("memory").innerText()), "memory shows no percentage");
    await page.getByTestId("messages").waitFor({ timeout: TIMEOUT });
    await noErrorState(page);
    await page.waitForTimeout(2500); // a few samples for the trend charts
    await shot(page, "system");
  },

  async cve(page) {
    const all = await need("local", "RPCSearchCVEs", { limit: 1 });
    assert(all.retcode === 0, `RPCSearchCVEs: ${all.message}`);
    assert(all.payload.total > 0, "the store has no CVE: the test setup saves the real feed first");
    await page.goto(`${BASE}/cve/`);
    await page.getByTestId("cve-row").first().waitFor({ timeout: TIMEOUT });
    assert((await numberIn(page.getByTestId("cve-total"))) === all.payload.total, "the total shown is not the store's");
    const first = await page.getByTestId("cve-row").first().innerText();
    assert(first.includes(all.payload.cves[0].id), `first row ${JSON.stringify(first.slice(0, 40))} is not ${all.payload.cves[0].id} (newest first)`);
    await shot(page, "cve");

    // The search narrows the results to what the backend finds.
    const want = await call("local", "RPCSearchCVEs", { query: "sql injection", limit: 1 });
    assert(want.retcode === 0 && want.payload.total > 0 && want.payload.total < all.payload.total, `"sql injection" should match some but not all CVEs: ${JSON.stringify(want.payload?.total)}`);
    await page.getByRole("textbox", { name: "Search descriptions" }).fill("sql injection");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.waitForURL(/query=sql\+injection/, { timeout: TIMEOUT });
    await page.waitForFunction((n) => document.querySelector('[data-testid="cve-total"]')?.textContent?.startsWith(`${n} `), want.payload.total, { timeout: TIMEOUT });
    const rows = page.getByTestId("cve-row");
    assert((await rows.count()) === Math.min(25, want.payload.total), "the page does not show the first 25 matches");
    assert((await rows.first().innerText()).toLowerCase().includes("sql"), "the first match does not mention SQL");

    // Severity filter narrows further; paging keeps going with the cursor.
    await page.goto(`${BASE}/cve/?severity=CRITICAL`);
    const crit = await call("local", "RPCSearchCVEs", { severity: "CRITICAL", limit: 1 });
    await page.waitForFunction((n) => document.querySelector('[data-testid="cve-total"]')?.textContent?.startsWith(`${n} `), crit.payload.total, { timeout: TIMEOUT });
    for (const r of await page.getByTestId("cve-row").all()) assert((await r.innerText()).includes("CRITICAL"), "a row is not CRITICAL");
    if (all.payload.total > 25) {
      await page.goto(`${BASE}/cve/`);
      await page.getByTestId("cve-row").first().waitFor({ timeout: TIMEOUT });
      const p1 = await page.getByTestId("cve-row").allInnerTexts();
      const firstRow = await page.getByTestId("cve-row").first().textContent();
      await page.getByRole("button", { name: "Next" }).click();
      await page.getByText("Page 2").waitFor({ timeout: TIMEOUT });
      await page.waitForFunction((r) => document.querySelector('[data-testid="cve-row"]')?.textContent !== r, firstRow, { timeout: TIMEOUT });
      const p2 = await page.getByTestId("cve-row").allInnerTexts();
      assert(!p2.some((r) => p1.includes(r)), "page 2 repeats rows of page 1");
    }
  },

  async "cve-detail"(page) {
    const hit = await need("local", "RPCSearchCVEs", { cwe_id: "CWE-74", limit: 1 });
    assert(hit.payload.cves?.length, "no CVE with CWE-74 in the store");
    const id = hit.payload.cves[0].id;
    await page.goto(`${BASE}/cve/?cweId=CWE-74`);
    await page.getByRole("link", { name: id }).first().click();
    await page.getByTestId("cve-id").waitFor({ timeout: TIMEOUT });
    assert((await page.getByTestId("cve-id").innerText()) === id, "the CVE page shows another id");
    assert((await page.getByTestId("cve-description").innerText()).length > 20, "no description");
    assert((await page.getByTestId("cvss-row").count()) > 0, "no CVSS row");
    assert((await page.getByTestId("cve-cwe-link").filter({ hasText: "CWE-74" }).count()) === 1, "CWE-74 is not linked");
    // RPCGetRelated answers or its error is shown; the page does not crash.
    await page.locator("#chain").waitFor({ timeout: TIMEOUT });
    await page.locator("#chain [data-testid=related], #chain [data-testid=error]").first().waitFor({ timeout: TIMEOUT });
    await shot(page, "cve-detail");
  },

  async chain(page) {
    await need("local", "RPCGetCWEByID", { cwe_id: "CWE-74" });
    await need("local", "RPCGetCAPECByID", { capec_id: "CAPEC-13" });
    for (const [prov, m] of [["cwe", "RPCListCWEs"], ["capec", "RPCListCAPECs"]]) {
      await needImported(prov, (await need("local", m, { limit: 1 })).payload?.total ?? 0);
    }
    const hit = await call("local", "RPCSearchCVEs", { cwe_id: "CWE-74", limit: 1 });
    const id = hit.payload.cves[0].id;
    await page.goto(`${BASE}/cve/?id=${id}`);
    // CVE → CWE-74 → CAPEC-13 → T1562.003 (from the bundled MITRE files)
    const link = page.locator('#chain [data-testid="chain-attack-link"]').filter({ hasText: "T1562.003" }).first();
    await link.waitFor({ timeout: 40_000 });
    await page.locator("#chain").scrollIntoViewIfNeeded();
    await shot(page, "chain");
    // Following it needs the ATT&CK technique page.
    await need("local", "RPCGetAttackTechniqueByID", { id: "T1562.003" });
    await needImported("attack", (await need("local", "RPCListAttackTechniques", { limit: 1 })).payload?.total ?? 0);
    await link.click();
    await page.getByTestId("technique-id").waitFor({ timeout: TIMEOUT });
    assert((await page.getByTestId("technique-id").innerText()) === "T1562.003", "the chain did not reach technique T1562.003");
    await noErrorState(page);
    await shot(page, "chain-technique");
  },

  async cwe(page) {
    const list = await need("local", "RPCListCWEs", { offset: 0, limit: 1 });
    assert(list.retcode === 0, list.message);
    await needImported("cwe", list.payload.total);
    assert(list.payload.total > 900, `only ${list.payload.total} CWEs stored`);
    await page.goto(`${BASE}/cwe/`);
    await page.getByTestId("cwe-row").first().waitFor({ timeout: TIMEOUT });
    assert((await page.getByTestId("cwe-row").count()) === 50, "the first page has not 50 rows");
    await shot(page, "cwe");
    // The search box asks the backend (q): its count, its rows, paged.
    const inj = await search(page, "RPCListCWEs", {}, "injection");
    assert(inj > 0 && inj < list.payload.total, `"injection" should match some but not all weaknesses: ${inj}`);
    const injIDs = (await call("local", "RPCListCWEs", { q: "injection", limit: 50 })).payload.cwes.map((c) => c.id);
    assert(JSON.stringify(await rowIDs(page, "cwe-row")) === JSON.stringify(injIDs), "the rows are not the backend's matches for injection");
    const input = await search(page, "RPCListCWEs", {}, "input");
    assert(input > 50, `"input" matches only ${input} weaknesses`);
    const p1 = await rowIDs(page, "cwe-row");
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByText(`51–${Math.min(100, input)} of ${input}`).waitFor({ timeout: TIMEOUT });
    await page.waitForFunction((r) => document.querySelector('[data-testid="cwe-row"] td')?.textContent !== r, p1[0], { timeout: TIMEOUT });
    const p2 = await rowIDs(page, "cwe-row");
    assert(!p2.some((r) => p1.includes(r)), "page 2 of the matches repeats rows of page 1");
    await search(page, "RPCListCWEs", {}, "CWE-79");
    assert((await page.getByTestId("cwe-row").filter({ hasText: "CWE-79" }).count()) >= 1, "searching 'CWE-79' does not list CWE-79");
    await search(page, "RPCListCWEs", {}, "SQL Command");
    assert((await page.getByTestId("cwe-row").filter({ hasText: "CWE-89" }).count()) === 1, "searching 'SQL Command' does not find CWE-89");
    await page.waitForURL(/[?&]q=SQL(\+|%20)Command/, { timeout: TIMEOUT });
    await page.getByRole("link", { name: "CWE-89", exact: true }).click();
    await page.getByTestId("cwe-id").waitFor({ timeout: TIMEOUT });
    assert((await page.getByTestId("cwe-id").innerText()) === "CWE-89", "the weakness page is not CWE-89");
    await page.getByTestId("rel-node").first().waitFor({ timeout: TIMEOUT });
    assert((await page.getByTestId("cwe-capec-link").count()) > 0, "CWE-89 links no CAPEC");
    await noErrorState(page);
    await shot(page, "cwe-detail");
    // Back from the weakness: the search is still there (it is in the URL).
    await page.goBack();
    await page.getByTestId("cwe-row").filter({ hasText: "CWE-89" }).waitFor({ timeout: TIMEOUT });
    assert((await page.getByRole("searchbox").inputValue()) === "SQL Command", "back from CWE-89, the search box lost 'SQL Command'");
    assert((await page.getByTestId("cwe-row").count()) === (await call("local", "RPCListCWEs", { q: "SQL Command", limit: 50 })).payload.cwes.length, "back from CWE-89, the rows are not the matches of 'SQL Command'");
    // Views: the list, then one view with its objective.
    const views = await need("local", "RPCListCWEViews", { limit: 1 });
    assert(views.retcode === 0 && views.payload.total > 0, `RPCListCWEViews: ${views.message} ${views.payload?.total}`);
    await page.goto(`${BASE}/cwe/`);
    await page.getByRole("tab", { name: "Views" }).click();
    await page.getByTestId("view-row").first().waitFor({ timeout: TIMEOUT });
    assert((await page.getByTestId("view-row").count()) === Math.min(50, views.payload.total), "the first page of views is not listed");
    const mapping = await search(page, "RPCListCWEViews", {}, "mapping");
    assert(mapping > 0 && (await page.getByTestId("view-row").count()) === Math.min(50, mapping), `the views matching "mapping" are not listed`);
    // The tab and the search are in the URL: a reload opens the same list.
    await page.waitForURL(/tab=views.*q=mapping|q=mapping.*tab=views/, { timeout: TIMEOUT });
    await page.reload();
    await page.getByTestId("match-count").waitFor({ timeout: TIMEOUT });
    assert((await page.getByRole("searchbox").inputValue()) === "mapping", "after a reload the views search lost 'mapping'");
    assert((await page.getByTestId("view-row").count()) === Math.min(50, mapping), "after a reload the views matching 'mapping' are not listed");
    // Another tab starts with an empty search.
    await page.getByRole("tab", { name: "Weaknesses" }).click();
    await page.getByTestId("cwe-row").first().waitFor({ timeout: TIMEOUT });
    assert((await page.getByRole("searchbox").inputValue()) === "", "the Weaknesses tab inherited the views search");
    await page.getByRole("tab", { name: "Views" }).click();
    await page.getByTestId("view-row").first().waitFor({ timeout: TIMEOUT });
    await page.getByTestId("view-row").first().getByRole("link").click();
    await page.getByRole("heading", { name: "Objective" }).waitFor({ timeout: TIMEOUT });
    await noErrorState(page);
  },

  async capec(page) {
    const list = await need("local", "RPCListCAPECs", { offset: 0, limit: 1 });
    assert(list.retcode === 0, list.message);
    await needImported("capec", list.payload.total);
    assert(list.payload.total > 500, `only ${list.payload.total} CAPECs stored`);
    await page.goto(`${BASE}/capec/`);
    await page.getByTestId("capec-row").first().waitFor({ timeout: TIMEOUT });
    await shot(page, "capec");
    const inj = await search(page, "RPCListCAPECs", {}, "SQL injection");
    assert(inj > 0 && (await page.getByTestId("capec-row").count()) === Math.min(50, inj), `the rows do not match the ${inj} matches of "SQL injection"`);
    assert((await page.getByTestId("capec-row").filter({ hasText: "CAPEC-66" }).count()) === 1, "searching 'SQL injection' does not find CAPEC-66");
    await search(page, "RPCListCAPECs", {}, "CAPEC-66");
    assert((await rowIDs(page, "capec-row")).includes("CAPEC-66"), "searching 'CAPEC-66' does not list CAPEC-66");
    await page.goto(`${BASE}/capec/?id=CAPEC-13`);
    await page.getByTestId("capec-id").waitFor({ timeout: TIMEOUT });
    assert((await page.getByTestId("capec-attack-link").filter({ hasText: "T1562.003" }).count()) === 1, "CAPEC-13 does not link T1562.003");
    await noErrorState(page);
  },

  async attack(page) {
    const t = await need("local", "RPCListAttackTactics", { offset: 0, limit: 1, domain: "enterprise" });
    await needImported("attack", t.payload?.total ?? 0);
    assert(t.retcode === 0 && t.payload.total >= 14, `enterprise tactics: ${t.message} ${t.payload?.total}`);
    await page.goto(`${BASE}/attack/`);
    await page.getByTestId("technique-cell").first().waitFor({ timeout: 40_000 });
    assert((await page.getByTestId("matrix-column").count()) === t.payload.total, "the matrix has not one column per tactic");
    assert((await page.getByTestId("technique-cell").count()) > 150, "the enterprise matrix has few techniques");
    await noErrorState(page);
    await shot(page, "attack");
    // Techniques, groups: the search asks the backend, in the domain shown.
    await page.getByRole("tab", { name: "Techniques" }).click();
    await page.getByTestId("technique-row").first().waitFor({ timeout: TIMEOUT });
    const ent = { domain: "enterprise" };
    const t1059 = await search(page, "RPCListAttackTechniques", ent, "T1059");
    const ids = await rowIDs(page, "technique-row");
    assert(t1059 > 1 && ids.includes("T1059") && ids.includes("T1059.001"), `searching T1059 lists ${ids.join(" ")}`);
    const phishing = await search(page, "RPCListAttackTechniques", ent, "phishing");
    assert(phishing > 0 && (await rowIDs(page, "technique-row")).includes("T1566"), "searching 'phishing' does not list T1566");
    await shot(page, "attack-search");
    await page.getByRole("tab", { name: "Groups" }).click();
    await page.getByTestId("group-row").first().waitFor({ timeout: TIMEOUT });
    await search(page, "RPCListAttackGroups", ent, "Fancy Bear");
    assert((await rowIDs(page, "group-row")).includes("G0007"), "searching 'Fancy Bear' does not list G0007");
    await page.waitForURL(/tab=groups/, { timeout: TIMEOUT });
    await noErrorState(page);
    await page.getByRole("tab", { name: "Matrix" }).click();
    await page.getByRole("button", { name: "ICS" }).click();
    await page.waitForURL(/domain=ics/);
    await page.getByTestId("technique-cell").first().waitFor({ timeout: 40_000 });
  },

  async technique(page) {
    await need("local", "RPCGetAttackTechniqueByID", { id: "T1059" });
    await need("local", "RPCGetAttackTechniqueLinks", { id: "T1059" });
    const links = (await call("local", "RPCGetAttackTechniqueLinks", { id: "T1059" })).payload.links;
    await needImported("attack", links ? 1 : 0);
    await page.goto(`${BASE}/attack/?id=T1059`);
    await page.getByTestId("technique-id").waitFor({ timeout: TIMEOUT });
    const card = (title) => page.locator("section").filter({ has: page.getByRole("heading", { name: new RegExp(`^${title}`) }) });
    await card("Sub-techniques").getByRole("link", { name: "T1059.001" }).waitFor({ timeout: TIMEOUT });
    for (const [title, key] of [["Mitigations", "mitigations"], ["Groups", "groups"], ["Software", "software"]]) {
      const n = links[key]?.length ?? 0;
      assert(n > 0, `T1059 has no ${key} in RPCGetAttackTechniqueLinks`);
      assert((await card(title).getByRole("heading").innerText()).includes(`(${n})`), `the ${title} card does not count ${n}`);
    }
    await noErrorState(page);
    await shot(page, "technique");
    // A group reached from the technique lists what it uses.
    await card("Groups").getByRole("link", { name: links.groups[0].id, exact: true }).click();
    await page.getByTestId("object-links").waitFor({ timeout: TIMEOUT });
    await noErrorState(page);
  },

  async jobs(page) {
    const st = await need("meta", "RPCGetSessionStatus");
    assert(st.retcode === 0, st.message);
    if (st.payload.has_session) await call("meta", "RPCStopSession", {});
    await page.goto(`${BASE}/jobs/`);
    await page.getByTestId("no-session").waitFor({ timeout: TIMEOUT });
    await page.getByLabel("Session id").fill("ui-e2e");
    await page.getByLabel("Results per batch").fill("20");
    await page.getByRole("button", { name: "Start", exact: true }).click();
    await page.getByTestId("session-id").filter({ hasText: "ui-e2e" }).waitFor({ timeout: TIMEOUT });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="fetched"] .text-xl')?.textContent?.replace(/,/g, "")) > 0, null, { timeout: 40_000 });
    const state = await page.getByTestId("state").first().innerText();
    if (state === "running") {
      await page.getByRole("button", { name: "Pause" }).click();
      await page.getByTestId("state").filter({ hasText: "paused" }).waitFor({ timeout: TIMEOUT });
      await shot(page, "jobs");
      await page.getByRole("button", { name: "Resume" }).click();
      await page.getByTestId("state").filter({ hasText: /running|completed/ }).waitFor({ timeout: TIMEOUT });
    } else {
      assert(state === "completed", `the session is ${state}`);
      await shot(page, "jobs");
    }
    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByTestId("no-session").waitFor({ timeout: TIMEOUT });
  },

  async etl(page) {
    const tree = await need("meta", "RPCGetEtlTree");
    assert(tree.retcode === 0, tree.message);
    await page.goto(`${BASE}/etl/`);
    await page.getByTestId("etl-tree").waitFor({ timeout: TIMEOUT });
    const n = tree.payload.providers?.length ?? 0;
    assert((await page.getByTestId("provider").count()) === n, `the tree shows not the ${n} providers`);
    for (const p of tree.payload.providers ?? []) {
      const node = page.getByTestId("provider").filter({ has: page.getByTestId("provider-id").getByText(p.id, { exact: true }) });
      assert((await node.getByTestId("state").count()) === 1, `provider ${p.id} has no state badge`);
    }
    await shot(page, "etl");
  },

  async provider(page) {
    const tree = await need("meta", "RPCGetEtlTree");
    const before = tree.payload.providers?.find((p) => p.id === "cve");
    assert(before, "meta has no cve provider");
    await page.goto(`${BASE}/etl/`);
    const node = page.getByTestId("provider").filter({ has: page.getByTestId("provider-id").getByText("cve", { exact: true }) });
    await node.waitFor({ timeout: TIMEOUT });
    const start = node.getByRole("button", { name: "Start cve" });
    assert(await start.isEnabled(), `Start is disabled for a provider in state ${before.state}`);
    await start.click();
    // The provider syncs from the loopback NVD server: its processed count grows on the page.
    const processed = node.locator("dt", { hasText: "Processed" }).locator("xpath=following-sibling::dd");
    await page.waitForFunction(
      ([el, n]) => Number(el.textContent.replace(/,/g, "")) > n,
      [await processed.elementHandle(), before.processed_count ?? 0],
      { timeout: 60_000 },
    ).catch(async () => {
      const err = await node.getByRole("alert").allInnerTexts();
      throw new Error(`the cve provider processed nothing after Start (${err.join("; ") || "no error shown"})`);
    });
    await shot(page, "etl-provider");
  },

  async kernel(page) {
    const k = await need("broker", "RPCGetKernelMetrics");
    assert(k.retcode === 0, k.message);
    await page.goto(`${BASE}/etl/`);
    await page.getByTestId("kernel").waitFor({ timeout: TIMEOUT });
    assert((await page.getByTestId("p99").innerText()).includes("ms"), "no P99 latency shown");
    await page.waitForTimeout(4500); // samples for the trend charts
    await noErrorState(page);
    await shot(page, "etl");
  },

  async home(page) {
    await page.goto(`${BASE}/`);
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    await page.waitForFunction(() => !document.querySelector('[data-testid="loading"]'), null, { timeout: TIMEOUT }).catch(() => {});
    await shot(page, "home");
    // Keyboard: the skip link comes first, then the tabs.
    await page.keyboard.press("Tab");
    assert((await page.evaluate(() => document.activeElement?.textContent)) === "Skip to content", "the first Tab does not reach the skip link");
    let reached = false;
    for (let i = 0; i < 4 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = (await page.evaluate(() => document.activeElement?.getAttribute("href"))) === "/cve/";
    }
    assert(reached, "the CVE tab is not reachable by keyboard");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/cve\/$/);
  },

  async phone(page) {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ["/", "/system/", "/cve/", "/cwe/", "/capec/", "/attack/", "/jobs/", "/etl/"]) {
      await page.goto(`${BASE}${path}`);
      await page.locator("main h1").waitFor();
      await page.waitForLoadState("networkidle", { timeout: 15_000 }).catch(() => {});
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(overflow <= 1, `${path} is ${overflow}px wider than a phone`);
    }
    await page.goto(`${BASE}/cve/`);
    await page.getByTestId("cve-row").first().waitFor({ timeout: TIMEOUT }).catch(() => {});
    await shot(page, "phone-cve");
  },
};

async function main() {
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "v2e-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: EXE,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  let failed = 0;
  try {
    for (const [name, fn] of Object.entries(checks)) {
      if (ONLY.length && !ONLY.includes(name)) continue;
      const page = await browser.newPage();
      const pageErrors = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      try {
        await fn(page);
        if (pageErrors.length) throw new Error(`uncaught error in the page: ${pageErrors[0]}`);
        report(name, "pass");
      } catch (e) {
        if (e instanceof Skip) report(name, "skip", e.message);
        else {
          failed++;
          report(name, "fail", `${e.message}${pageErrors.length ? ` (page errors: ${pageErrors.join("; ")})` : ""}`);
          const failShot = join(tmpdir(), `v2e-failed-${name}.png`);
          if (await page.screenshot({ path: failShot }).then(() => true, () => false)) console.log(`screenshot of the failure: ${failShot}`);
        }
      } finally {
        await page.close();
      }
    }
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

await main();
