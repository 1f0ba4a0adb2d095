/**
 * `GET /ui`: the operator dashboard, served from assets built into the package
 * (`ui-assets.gen.ts`, written by `npm run build:ui` from `ui/`), which are loaded on the first
 * `GET /ui…` (issue 21: about 80 kB of source a server without a dashboard user never holds).
 *
 * @module
 */
import type { Hono } from "hono";

type Assets = typeof import("./ui-assets.gen.ts");
let assets: Promise<Assets> | undefined;

/**
 * What a dashboard response may do: scripts, styles and requests only from this server, nothing
 * inline, no frames, no form posts (the token form is handled by the page's own script), no
 * referrer sent anywhere.
 *
 * @example
 * ```ts
 * new Response(html, { headers: DASHBOARD_HEADERS });
 * ```
 */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "cache-control": "no-cache",
};

/**
 * Registers `GET /ui` (and `/ui/`: the page) and `GET /ui/<asset>` (`app.js`, `app.css`), each
 * with `DASHBOARD_HEADERS` and an `ETag` (a `304` for a matching `If-None-Match`). Public like
 * `/healthz`: the page holds no data; it asks for the token and sends it to the `/v1/` routes in
 * an `Authorization` header.
 *
 * @example
 * ```ts
 * registerDashboardRoutes(app);
 * // open http://127.0.0.1:8787/ui
 * ```
 */
export function registerDashboardRoutes(app: Hono): void {
  const serve = async (name: string, ifNoneMatch: string | undefined): Promise<Response> => {
    assets ??= import("./ui-assets.gen.ts");
    const { DASHBOARD_ASSETS, DASHBOARD_DIGEST } = await assets;
    const asset = DASHBOARD_ASSETS[name];
    if (asset === undefined) {
      return new Response(JSON.stringify({ error: { code: "not_found", message: `no dashboard asset ${JSON.stringify(name)}` } }), {
        status: 404,
        headers: { "content-type": "application/json" },
      });
    }
    const etag = `"${DASHBOARD_DIGEST}-${name}"`;
    const headers = { ...DASHBOARD_HEADERS, etag, "content-type": asset.type };
    if (ifNoneMatch === etag) return new Response(null, { status: 304, headers });
    return new Response(asset.body, { headers });
  };
  app.get("/ui", (c) => serve("index.html", c.req.header("if-none-match")));
  app.get("/ui/", (c) => serve("index.html", c.req.header("if-none-match")));
  app.get("/ui/:asset", (c) => serve(c.req.param("asset"), c.req.header("if-none-match")));
}
