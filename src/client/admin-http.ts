/**
 * The HTTP plumbing of `AdminClient`: one JSON call with a bearer token and a timeout, and the
 * `SluiceError` a refused call becomes — with the server's own code and message, the HTTP status
 * in `metadata.status`, and `metadata.missingRoute` when the server has no such route at all (an
 * older server, or a feature it does not run), so callers can say "not available" instead of
 * "not found".
 *
 * @example
 * ```ts
 * const got = await callJson<{ status: string }>({ url: "http://127.0.0.1:8787" }, "GET", "/healthz");
 * if (!got.ok) console.error(got.error.message);
 * ```
 *
 * @module
 */
import { isErrorCode, type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";

/**
 * Where the operator API is and how to reach it.
 *
 * @example
 * ```ts
 * const options: AdminOptions = { url: "http://127.0.0.1:8787", token: process.env.SLUICE_TOKEN };
 * ```
 */
export interface AdminOptions {
  /** The server's base URL (http: or https:). */
  readonly url: string;
  /** Bearer token, sent as `Authorization: Bearer …` (never in a URL). */
  readonly token?: string;
  /** The `fetch` to use. Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** How long one call may take before it fails with `timeout`. Default 10,000 ms. */
  readonly timeoutMs?: number;
}

/**
 * A successful call: its status, headers and parsed JSON body.
 *
 * @example
 * ```ts
 * const etag = (await callJson(options, "GET", "/v1/control/config")).value?.headers.get("etag");
 * ```
 */
export interface JsonAnswer<T> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/**
 * Calls `method path` and parses the JSON answer; a non-2xx answer, an unreachable server or a
 * timeout is an error Result (see `httpFailure`).
 *
 * @example
 * ```ts
 * await callJson(options, "POST", "/v1/queues/jobs/poison/replay", { json: { all: true } });
 * ```
 */
export async function callJson<T>(
  options: AdminOptions,
  method: string,
  path: string,
  extra: { json?: unknown; body?: Uint8Array; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Result<JsonAnswer<T>>> {
  const headers: Record<string, string> = { accept: "application/json", ...extra.headers };
  if (options.token !== undefined && options.token !== "") headers.authorization = `Bearer ${options.token}`;
  let body: string | ArrayBuffer | undefined;
  if (extra.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(extra.json);
  } else if (extra.body !== undefined) {
    headers["content-type"] = "application/octet-stream";
    body = extra.body.slice().buffer as ArrayBuffer;
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  const signals = [AbortSignal.timeout(timeoutMs), ...(extra.signal ? [extra.signal] : [])];
  const fetcher = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await fetcher(endpoint(options.url, path), { method, headers, body, signal: AbortSignal.any(signals) });
  } catch (thrown) {
    if (extra.signal?.aborted) return err("canceled", `${method} ${path} was canceled`);
    const name = (thrown as { name?: string })?.name;
    if (name === "TimeoutError" || name === "AbortError") return err("timeout", `${method} ${path}: no answer from ${options.url} within ${timeoutMs} ms`);
    return err("unavailable", `cannot reach ${options.url}: ${errorText(thrown)}`, { cause: thrown });
  }
  const text = await response.text().catch(() => "");
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) return err(httpFailure(method, path, response.status, parsed, text));
  if (parsed === undefined) return err("internal", `${method} ${path}: the server answered ${response.status} without JSON`);
  return ok({ status: response.status, headers: response.headers, body: parsed as T });
}

/**
 * The URL of `path` on the server at `base` (keeps a path prefix the base URL may have).
 *
 * @example
 * ```ts
 * endpoint("http://h:1/sluice/", "/v1/queues"); // "http://h:1/sluice/v1/queues"
 * ```
 */
export function endpoint(base: string, path: string): string {
  const root = new URL(base);
  const prefix = root.pathname.replace(/\/+$/, "");
  return new URL(`${prefix}${path}`, root.origin).toString();
}

/**
 * The error for a refused call: 401/403 → `unauthorized`, 404 → `not_found` (with
 * `metadata.missingRoute` when the server has no such route rather than no such queue), the
 * server's code when it is a known one, otherwise a code by status class (a 409 `conflict` is
 * `validation`). The server's message and validation `fields` are kept in the message;
 * `metadata` holds `status` and the server's raw `serverCode` (e.g. `"conflict"`).
 *
 * @example
 * ```ts
 * httpFailure("GET", "/v1/cluster/members", 404, { error: { code: "not_found", message: "no route for GET /v1/cluster/members" } });
 * // { code: "not_found", message: "this server has no GET /v1/cluster/members (404) …", metadata: { status: 404, missingRoute: true } }
 * ```
 */
export function httpFailure(method: string, path: string, status: number, body: unknown, text = ""): SluiceError {
  const error = (body as { error?: { code?: unknown; message?: unknown; fields?: unknown } } | undefined)?.error;
  const serverCode = typeof error?.code === "string" ? error.code : undefined;
  const said = typeof error?.message === "string" ? error.message : text.trim().slice(0, 200) || `HTTP ${status}`;
  // Validation fields the message does not name already (a PUT /v1/control/config 400).
  const fields = Array.isArray(error?.fields)
    ? (error.fields as { path?: unknown; message?: unknown }[]).filter((f) => !said.includes(String(f.path))).map((f) => `${String(f.path)}: ${String(f.message)}`).join("; ")
    : "";
  const detail = fields === "" ? said : `${said} (${fields})`;
  const metadata: Record<string, unknown> = { status, ...(serverCode ? { serverCode } : {}) };
  if (status === 401 || status === 403) {
    return sluiceError("unauthorized", `${method} ${path} refused: ${status} ${detail}`, { metadata });
  }
  if (status === 404 && /^no route for /.test(said)) {
    return sluiceError("not_found", `this server has no ${method} ${path} (404): it does not serve this yet`, { metadata: { ...metadata, missingRoute: true } });
  }
  if (serverCode !== undefined && isErrorCode(serverCode)) return sluiceError(serverCode, `${status} ${detail}`, { metadata });
  const code = status === 404 ? "not_found" : status === 429 || status >= 502 ? "unavailable" : status >= 500 ? "internal" : "validation";
  return sluiceError(code, `${status} ${detail}`, { metadata });
}

function errorText(thrown: unknown): string {
  const cause = (thrown as { cause?: { code?: string } })?.cause?.code;
  const text = thrown instanceof Error ? thrown.message : String(thrown);
  return cause ? `${text} (${cause})` : text;
}
