/**
 * `GET` / `PUT /v1/control/config`: the cluster's control document as this node runs it, and
 * publishing a new version with compare-and-set (DESIGN.md "Mesh roles", Control).
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { sluiceError } from "../../result/errors.ts";
import type { Broker } from "../broker.ts";
import { errorResponse } from "../http-errors.ts";
import { readBodyLimited } from "./body.ts";

/**
 * Largest accepted control document, in bytes (larger: 413, nothing read past it).
 *
 * @example
 * ```ts
 * CONTROL_BODY_LIMIT; // 1048576
 * ```
 */
export const CONTROL_BODY_LIMIT = 1024 * 1024;

/**
 * Reads an `If-Match` value: `"7"`, `W/"7"` or a bare `7`; undefined for anything else.
 *
 * @example
 * ```ts
 * parseIfMatch('"7"'); // 7
 * parseIfMatch("*");   // undefined
 * ```
 */
export function parseIfMatch(value: string): number | undefined {
  const m = /^\s*(?:W\/)?("?)(\d{1,15})\1\s*$/.exec(value);
  return m === null ? undefined : Number(m[2]);
}

/**
 * Registers the control routes (behind the app's bearer auth like every `/v1/` route):
 * - `GET /v1/control/config` → `{"version","status":"applied"|"degraded","config","node"}` with
 *   `ETag: "<version>"`: the version this node runs and its document; when the latest version it
 *   saw was rejected or failed, also `"problem":{"version","error":{"code","message","fields"?}}`.
 * - `PUT /v1/control/config` with `If-Match: "<version>"` (or the bare number) and the whole
 *   document as the body: 200 `{"version":n}` (+ `ETag`) once stored — every node then applies it;
 *   409 `{"error":{"code":"conflict",…},"version":current}` when the version is no longer current;
 *   428 without If-Match; 400 `{"error":{"code":"validation","message","fields":[{"path","message"}]}}`
 *   for a document this node would not apply (nothing is stored then); 503 when the store is
 *   unreachable. 503 on both when the control role is not running.
 *
 * @example
 * ```ts
 * registerControlRoutes(app, broker);
 * // curl -X PUT -H 'If-Match: "3"' -d @config.json localhost:8787/v1/control/config → {"version":4}
 * ```
 */
export function registerControlRoutes(app: Hono, broker: Broker): void {
  app.get("/v1/control/config", (c) => {
    const control = broker.control;
    if (control === undefined) return notRunning(c);
    const view = control.view();
    c.header("ETag", `"${view.version}"`);
    const problem = view.problem === undefined ? {} : { problem: { version: view.problem.version, error: errorBody(view.problem.error) } };
    return c.json({ version: view.version, status: view.status, config: JSON.parse(view.text), node: view.node, ...problem });
  });

  app.put("/v1/control/config", async (c) => {
    const control = broker.control;
    if (control === undefined) return notRunning(c);
    const ifMatch = c.req.header("if-match");
    if (ifMatch === undefined) {
      return c.json({ error: { code: "precondition_required", message: 'PUT /v1/control/config needs If-Match: "<version>" (the ETag of GET /v1/control/config)' } }, 428);
    }
    const expected = parseIfMatch(ifMatch);
    if (expected === undefined) {
      const fields = [{ path: "If-Match", message: 'must be a version: "7" or 7' }];
      return c.json({ error: { code: "validation", message: "If-Match must be a version", fields } }, 400);
    }
    const body = await readBodyLimited(c.req.raw, CONTROL_BODY_LIMIT);
    if (!body.ok) return errorResponse(c, body.error);
    const text = new TextDecoder().decode(body.value);
    const checked = control.check(text);
    if (!checked.ok) return c.json({ error: errorBody(checked.error) }, 400);
    const published = await control.publish(text, expected, c.req.raw.signal);
    if (!published.ok) return errorResponse(c, published.error);
    if (published.value.kind === "conflict") {
      const current = published.value.current;
      c.header("ETag", `"${current}"`);
      return c.json({ error: { code: "conflict", message: `If-Match ${expected} is not the current version (${current}): GET /v1/control/config, then PUT again` }, version: current }, 409);
    }
    c.header("ETag", `"${published.value.version}"`);
    return c.json({ version: published.value.version }, 200);
  });
}

function errorBody(error: { code: string; message: string; metadata?: Readonly<Record<string, unknown>> }): Record<string, unknown> {
  const fields = error.metadata?.fields;
  return { code: error.code, message: error.message, ...(Array.isArray(fields) ? { fields } : {}) };
}

function notRunning(c: Context): Response {
  return errorResponse(c, sluiceError("unavailable", "the control role is not running on this node"), 503 as ContentfulStatusCode);
}
