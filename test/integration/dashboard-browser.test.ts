// The /ui dashboard in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core,
// launched as in client-browser.test.ts) against a real Sluice server child with auth on: the
// page asks for the token, shows a queue's depth changing while messages are published (live,
// from the SSE stats feed read with fetch + Authorization), lists a poisoned message with its
// failure history, and the Replay button puts it back (it leaves the poison list; the server
// agrees); Purge drops one. The token never appears in a URL the page requests, no script or
// style from anywhere else runs (the CSP would log it), and sign-out forgets the token.
// SLUICE_SCREENSHOTS=docs rewrites docs/dashboard*.png (after a longer burst of traffic).
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Page } from "playwright-core";
import { AdminClient, Consumer, Producer } from "../../src/client/mod.ts";
import { type ServerProcess, startServer } from "./server-process.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");
const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "dash-s3cret-7f3a";
const DOCS = process.env.SLUICE_SCREENSHOTS === "docs";
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve().then(cleanup).catch(() => {});
});

/** The page's `document`, as far as these checks use it (the tests type-check without the DOM library). */
type PageDocument = { querySelector(selector: string): { textContent: string | null } | null };
const text = (page: Page, selector: string) => page.locator(selector).first().textContent({ timeout: 30_000 });
const waitText = (page: Page, selector: string, expected: string) =>
  page.waitForFunction(([s, e]) => (globalThis as unknown as { document: PageDocument }).document.querySelector(s!)?.textContent === e, [selector, expected], { timeout: 30_000 });

/** Publishes and consumes at changing rates for `seconds`, so the charts have something to draw. */
async function traffic(url: string, seconds: number): Promise<void> {
  const producer = new Producer({ url, queue: "orders", token: TOKEN });
  const consumer = new Consumer({ url, queue: "orders", token: TOKEN, credit: 8 });
  const until = Date.now() + seconds * 1000;
  for (let tick = 0; Date.now() < until; tick++) {
    const burst = 5 + Math.round(20 * (1 + Math.sin(tick / 4)));
    await Promise.all(Array.from({ length: burst }, (_, i) => producer.publish(new TextEncoder().encode(`{"order":${tick * 100 + i}}`))));
    for (let i = 0; i < burst - 3 + (tick % 5); i++) {
      const d = await consumer.receive({ signal: AbortSignal.timeout(2000) });
      if (!d.ok) break;
      consumer.ack(d.value);
    }
    await new Promise((r) => setTimeout(r, 400));
  }
  await consumer.flush();
  consumer.close();
  producer.close();
}

/** NACKs `count` deliveries of `queue` with `reason` (the queue's maxRetries decides if they poison). */
async function nack(url: string, queue: string, count: number, reason: string): Promise<void> {
  const consumer = new Consumer({ url, queue, token: TOKEN, limit: count });
  for (let i = 0; i < count; i++) {
    const d = await consumer.receive();
    if (!d.ok) throw new Error(d.error.message);
    consumer.nack(d.value, { code: "validation", message: `${reason}: ${new TextDecoder().decode(d.value.payload)}`, requeue: true });
  }
  await consumer.flush();
  consumer.close();
}

describe("dashboard at /ui in headless Chromium", () => {
  test("sign in, live depth while publishing, poison history, Replay and Purge buttons", async () => {
    const server: ServerProcess = await startServer("bun", {
      config: {
        storage: "memory",
        queues: {
          orders: {},
          emails: { maxRetries: 1 },
          // A bridge into a downstream that is not there: a leadership scope, messages that wait.
          webhooks: { bridge: { wsUrl: "ws://127.0.0.1:9/v1/queues/hooks/ws", rpcUrl: "http://127.0.0.1:9" } },
        },
      },
      env: { SLUICE_AUTH_TOKENS: TOKEN },
    });
    cleanups.push(() => server.stop("SIGKILL"));
    const admin = new AdminClient({ url: server.url, token: TOKEN });
    const profile = mkdtempSync(join(tmpdir(), "sluice-chromium-"));
    cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
    const args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args, timeout: 30_000, viewport: { width: 1280, height: 900 } });
    cleanups.push(() => context.close());
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const requested: { url: string; auth: string | undefined }[] = [];
    const problems: string[] = [];
    page.on("request", (r) => requested.push({ url: r.url(), auth: r.headers().authorization }));
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    // Refused calls (401 before sign-in, mesh routes this server may lack) are expected; anything else is not.
    page.on("console", (m) => m.type() === "error" && !/status of (401|404|503)/.test(m.text()) && problems.push(m.text()));

    await page.goto(`${server.url}/ui`);
    await page.waitForSelector("#login:not([hidden])");
    expect(await page.isHidden("#main")).toBe(true);
    await page.fill("#token", "wrong-token");
    await page.click("#login-form button[type=submit]");
    await waitText(page, "#login-error", "The server refused this token.");
    await page.fill("#token", TOKEN);
    await page.check("#remember");
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector('#queues tr[data-queue="emails"]');
    expect(await page.isHidden("#login")).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem("sluice.token"))).toBe(TOKEN);

    // Depth changes live while messages are published (no reload: the SSE feed drives it).
    await waitText(page, '#queues tr[data-queue="emails"] td.depth', "0");
    for (const [batch, depth] of [[3, "3"], [4, "7"]] as const) {
      for (let i = 0; i < batch; i++) expect((await admin.publish("emails", new TextEncoder().encode(`mail-${depth}-${i}`))).ok).toBe(true);
      await waitText(page, '#queues tr[data-queue="emails"] td.depth', depth);
    }
    await page.click('#queues tr[data-queue="emails"]');
    await waitText(page, "#chart-queue", "emails");
    expect(await page.locator("#chart-depth canvas").count()).toBe(1);

    // Poison one (maxRetries 1: one NACK), see it with its history, replay it with the button.
    await nack(server.url, "emails", 1, "smtp 550 mailbox unavailable");
    const row = page.locator("#poison tr[data-seq]");
    await row.first().waitFor();
    const seq = await row.first().getAttribute("data-seq");
    expect(await text(page, `#poison tr[data-seq="${seq}"] td.payload`)).toBe("mail-3-0");
    expect(await text(page, `#poison tr[data-seq="${seq}"] details summary`)).toBe("1 failure");
    expect(await text(page, `#poison tr[data-seq="${seq}"] details li`)).toContain("smtp 550 mailbox unavailable: mail-3-0");
    await waitText(page, "#poison-count", "1");
    await waitText(page, '#queues tr[data-queue="emails"] td.poison', "1");
    await page.click(`#poison tr[data-seq="${seq}"] button.replay`);
    await page.waitForSelector(`#poison tr[data-seq="${seq}"]`, { state: "detached" });
    await waitText(page, "#poison-count", "0");
    expect(await text(page, "#poison-status")).toMatch(/^Replayed 1 at /);
    const replayed = await admin.stats("emails");
    expect(replayed.ok && replayed.value).toMatchObject({ poisoned: 0, pending: 7 });
    await waitText(page, '#queues tr[data-queue="emails"] td.poison', "0");

    // Leaders, members and the control-config version: shown, or "not available".
    await page.waitForFunction(() => (globalThis as unknown as { document: PageDocument }).document.querySelector("#leaders")?.textContent?.includes("bridge/webhooks"));
    for (const id of ["#members", "#config"]) expect((await text(page, id))!.length).toBeGreaterThan(0);
    expect(await text(page, "#config-version")).toMatch(/^config: /);

    // Screenshots while traffic runs (docs/ with SLUICE_SCREENSHOTS=docs, else a temp dir).
    const running = traffic(server.url, DOCS ? 50 : 5);
    await nack(server.url, "emails", 2, "smtp 550 mailbox unavailable");
    await page.locator("#poison tr[data-seq]").nth(1).waitFor();
    await page.click('#queues tr[data-queue="orders"]');
    await waitText(page, "#chart-queue", "orders");
    await page.waitForTimeout(DOCS ? 45_000 : 3_000);
    const shots = DOCS ? join(ROOT, "docs") : mkdtempSync(join(tmpdir(), "sluice-shots-"));
    await page.screenshot({ path: join(shots, "dashboard.png"), fullPage: true });
    await page.click('#queues tr[data-queue="emails"]');
    await page.locator("#poison tr[data-seq]").nth(1).waitFor();
    await page.waitForTimeout(1500); // the list settles (it reloads once after a queue switch)
    await page.locator("#poison tr[data-seq] details summary").first().click();
    await page.locator("#poison-section").screenshot({ path: join(shots, "dashboard-poison.png") });
    await page.locator("#cluster-section").screenshot({ path: join(shots, "dashboard-cluster.png") });
    await running;

    // Purge drops one for good.
    const purgeSeq = await page.locator("#poison tr[data-seq]").first().getAttribute("data-seq");
    await page.click(`#poison tr[data-seq="${purgeSeq}"] button.purge`);
    await page.waitForSelector(`#poison tr[data-seq="${purgeSeq}"]`, { state: "detached" });
    const purged = await admin.poison("emails");
    expect(purged.ok && purged.value.entries.map((e) => String(e.sequenceId))).not.toContain(purgeSeq);

    // The token went in Authorization headers only: never in a URL the page asked for.
    expect(requested.length).toBeGreaterThan(5);
    expect(requested.filter((r) => r.url.includes(TOKEN))).toEqual([]);
    const feed = requested.filter((r) => r.url.includes("/v1/stats/stream"));
    expect(feed.length).toBeGreaterThan(0);
    expect(feed.every((r) => r.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(requested.every((r) => r.url.startsWith(server.url))).toBe(true); // nothing from a CDN
    expect(page.url()).toBe(`${server.url}/ui${page.url().includes("#") ? page.url().slice(page.url().indexOf("#")) : ""}`);
    expect(page.url()).not.toContain(TOKEN);

    await page.click("#sign-out");
    await page.waitForSelector("#login:not([hidden])");
    expect(await page.evaluate(() => sessionStorage.getItem("sluice.token"))).toBe(null);
    expect(problems).toEqual([]);
  }, 180_000);
});
