/**
 * The client side of the stats feed (`GET /v1/stats/stream`, server-sent events): a streaming
 * `fetch` with the bearer token in the `Authorization` header — not `EventSource`, which cannot
 * set headers and would need the token in the URL — parsed into `StatsSample`s.
 *
 * @example
 * ```ts
 * for await (const sample of readStatsFeed({ url, token }, { intervalMs: 500, signal })) {
 *   if (!sample.ok) break;
 *   console.log(sample.value.queues.map((q) => `${q.queue}=${q.pending}`).join(" "));
 * }
 * ```
 *
 * @module
 */
import { sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { type AdminOptions, endpoint, httpFailure } from "./admin-http.ts";
import type { StatsSample } from "./admin-types.ts";

/**
 * The path of the stats feed.
 *
 * @example
 * ```ts
 * STATS_FEED_PATH; // "/v1/stats/stream"
 * ```
 */
export const STATS_FEED_PATH = "/v1/stats/stream";

/**
 * Yields a sample per `stats` event until `signal` aborts (then it just ends) or the server ends
 * the stream (an `unavailable` error, then the end). A refusal (401, 404 …) is one error Result.
 *
 * @example
 * ```ts
 * const feed = readStatsFeed({ url: "http://127.0.0.1:8787" }, { intervalMs: 1000 });
 * const first = await feed.next();
 * ```
 */
export async function* readStatsFeed(
  options: AdminOptions,
  feed: { intervalMs?: number; signal?: AbortSignal } = {},
): AsyncGenerator<Result<StatsSample>> {
  const path = feed.intervalMs === undefined ? STATS_FEED_PATH : `${STATS_FEED_PATH}?intervalMs=${Math.round(feed.intervalMs)}`;
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (options.token !== undefined && options.token !== "") headers.authorization = `Bearer ${options.token}`;
  const fetcher = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await fetcher(endpoint(options.url, path), { headers, signal: feed.signal });
  } catch (thrown) {
    if (feed.signal?.aborted) return;
    yield err("unavailable", `cannot reach ${options.url}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
    return;
  }
  if (!response.ok || response.body === null) {
    const text = await response.text().catch(() => "");
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    yield err(httpFailure("GET", STATS_FEED_PATH, response.status, parsed, text));
    return;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (thrown) {
        if (!feed.signal?.aborted) yield err("unavailable", `stats feed broke: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
        return;
      }
      if (chunk.done) {
        yield err(sluiceError("unavailable", "the server ended the stats feed (shutting down?)"));
        return;
      }
      buffered += chunk.value.replace(/\r\n?/g, "\n");
      for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
        const event = parseEvent(buffered.slice(0, end));
        buffered = buffered.slice(end + 2);
        if (event !== undefined) yield event;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * One server-sent event's block (without the blank line) as a sample; `undefined` for comments,
 * `retry:` hints and events other than `stats`.
 *
 * @example
 * ```ts
 * parseEvent('event: stats\ndata: {"at":1,"queues":[]}'); // ok({ at: 1, queues: [] })
 * ```
 */
export function parseEvent(block: string): Result<StatsSample> | undefined {
  let name = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  if (name !== "stats" || data.length === 0) return undefined;
  try {
    const sample = JSON.parse(data.join("\n")) as StatsSample;
    return typeof sample?.at === "number" && Array.isArray(sample.queues) ? ok(sample) : err("internal", "stats event without at/queues");
  } catch {
    return err("internal", "stats event is not JSON");
  }
}
