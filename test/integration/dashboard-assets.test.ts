// The dashboard's assets are built into the package: src/server/routes/ui-assets.gen.ts must be
// what `npm run build:ui` makes from ui/ now (and ui/ must type-check with the DOM library), and
// the app serves them at /ui with a self-only CSP, ETags and no auth, while the stats feed and
// purge sit behind the bearer token like every /v1/ route.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { createApp } from "../../src/server/app.ts";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";
import { runtimeBinary } from "./server-process.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");

describe("dashboard assets", () => {
  test("the committed module is fresh and ui/ type-checks", () => {
    const check = spawnSync(runtimeBinary("bun"), [join(ROOT, "scripts/build-ui.ts"), "--check"], { cwd: ROOT, encoding: "utf8" });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe("build-ui: the dashboard assets are fresh");
    expect(check.status).toBe(0);
    const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", join(ROOT, "ui/tsconfig.json")], { cwd: ROOT, encoding: "utf8" });
    expect(`${tsc.stdout}${tsc.stderr}`).toBe("");
    expect(tsc.status).toBe(0);
  }, 120_000);

  test("/ui serves the page, its script and styles with a self-only CSP; /v1/ operator routes need the token", async () => {
    const loaded = loadConfig({ env: { SLUICE_AUTH_TOKENS: "t0k", SLUICE_STORAGE: "memory" }, fileText: '{"queues":{"jobs":{}}}' });
    if (!loaded.ok) throw new Error(loaded.error.message);
    const broker = new Broker({ config: loaded.value });
    const app = createApp(loaded.value, { broker });
    for (const [path, type] of [["/ui", "text/html"], ["/ui/", "text/html"], ["/ui/app.js", "text/javascript"], ["/ui/app.css", "text/css"]] as const) {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith(type);
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      const again = await app.request(path, { headers: { "if-none-match": res.headers.get("etag")! } });
      expect(again.status).toBe(304);
    }
    const html = await (await app.request("/ui")).text();
    expect(html).toContain('<script type="module" src="/ui/app.js">');
    expect(html).not.toMatch(/https?:\/\//); // nothing from elsewhere
    expect(await (await app.request("/ui/app.css")).text()).toContain(".uplot");
    expect((await app.request("/ui/nope.js")).status).toBe(404);
    expect((await app.request("/v1/stats/stream")).status).toBe(401);
    expect((await app.request("/v1/queues")).status).toBe(401);
    expect((await app.request("/v1/queues/jobs/poison/purge", { method: "POST", body: '{"all":true}' })).status).toBe(401);
    const auth = { authorization: "Bearer t0k" };
    expect(await (await app.request("/v1/queues", { headers: auth })).json()).toMatchObject({ queues: [{ queue: "jobs", pending: 0 }] });
    const bad = await app.request("/v1/queues/jobs/poison/purge", { method: "POST", headers: auth, body: '{"idz":[1]}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toStartWith("purge body must be");
    expect((await app.request("/v1/stats/stream?intervalMs=5", { headers: auth })).status).toBe(400);
    const feed = await app.request("/v1/stats/stream?intervalMs=100", { headers: auth });
    expect(feed.headers.get("content-type")).toStartWith("text/event-stream");
    const reader = feed.body!.pipeThrough(new TextDecoderStream()).getReader();
    let got = "";
    while ((got.match(/event: stats/g) ?? []).length < 2) got += (await reader.read()).value ?? "";
    await reader.cancel();
    expect(got).toMatch(/^retry: 1000\n\nevent: stats\ndata: \{"at":\d+,"queues":\[\{"queue":"jobs","pending":0,/);
    await broker.shutdown({ drainMs: 0 });
  });
});
