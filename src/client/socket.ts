/**
 * How the SDK opens its WebSockets: with the injected or the global `WebSocket` class, as a
 * Result that carries the real reason when the socket does not open. The WebSocket API hides the
 * HTTP status of a refused upgrade, so after a failed open the SDK asks the same URL over plain
 * HTTP (`explainRefusal`) and reports what the server says: `unauthorized` for 401/403,
 * `not_found` for an unknown queue, the server's code with `metadata.status` 501 when the server
 * has no WebSocket support. Those are not retried; a server that is down or busy is.
 *
 * @example
 * ```ts
 * const socket = await connectSocket({ url: "http://127.0.0.1:8787", queue: "jobs" });
 * if (!socket.ok) console.log(socket.error.code); // e.g. "unauthorized"
 * ```
 *
 * @module
 */
import { canceledError, isErrorCode, type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { isRetryableError, retry } from "../result/retry.ts";
import { type ClientOptions, clockOf, DEFAULT_RECONNECT, queueSocketUrl, type WebSocketConstructor } from "./options.ts";

/**
 * The part of the WHATWG WebSocket the SDK uses; the global `WebSocket` and the `ws` package's
 * class both have it.
 *
 * @example
 * ```ts
 * socket.addEventListener("message", (event) => handle(event.data));
 * ```
 */
export interface ClientSocket {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  // deno-lint-ignore no-explicit-any
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => void): void;
  // deno-lint-ignore no-explicit-any
  removeEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => void): void;
}

/**
 * `readyState` of an open WebSocket (the `WebSocket.OPEN` constant, which Node 20 lacks as a global).
 *
 * @example
 * ```ts
 * if (socket.readyState === SOCKET_OPEN) socket.send(frame);
 * ```
 */
export const SOCKET_OPEN = 1;

/**
 * The WebSocket class of the options, or the global one; `validation` when there is neither
 * (Node 20 has no global `WebSocket`: pass the `ws` package's).
 *
 * @example
 * ```ts
 * const impl = webSocketOf({ url, queue, WebSocket: (await import("ws")).WebSocket });
 * ```
 */
export function webSocketOf(options: ClientOptions): Result<WebSocketConstructor> {
  const impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (impl !== undefined) return ok(impl);
  return err(
    "validation",
    'no WebSocket implementation: this runtime has no global WebSocket (Node 20 has none); pass one as the `WebSocket` option, e.g. `import { WebSocket } from "ws"`',
  );
}

/**
 * Errors that another connection attempt cannot fix: the default non-retryable codes, an unknown
 * queue, and refusals the server marks permanent (`metadata.retryable === false`, e.g. 501).
 *
 * @example
 * ```ts
 * isRetryableConnectError(sluiceError("unauthorized", "bad token")); // false
 * ```
 */
export function isRetryableConnectError(error: SluiceError): boolean {
  return isRetryableError(error) && error.code !== "not_found" && error.metadata?.retryable !== false;
}

/**
 * Opens the queue's WebSocket, retrying with the options' `reconnect` policy while the failure is
 * retryable; resolves with the open socket or the real reason it did not open.
 *
 * @example
 * ```ts
 * const opened = await connectSocket(options, signal);
 * if (opened.ok) opened.value.send(creditFrame(32));
 * ```
 */
export function connectSocket(options: ClientOptions, signal?: AbortSignal): Promise<Result<ClientSocket>> {
  const impl = webSocketOf(options);
  if (!impl.ok) return Promise.resolve(impl);
  const url = queueSocketUrl(options);
  return retry((_attempt, s) => openSocket(impl.value, url, { signal: s, fetch: options.fetch }), options.reconnect ?? DEFAULT_RECONNECT, {
    signal,
    clock: clockOf(options),
    isRetryable: isRetryableConnectError,
  });
}

/**
 * One attempt to open a binary WebSocket: `ok` once open, the explained refusal when it does not
 * open, `canceled` when the signal aborts first, `validation` when the class refuses the URL.
 *
 * @example
 * ```ts
 * const opened = await openSocket(WebSocket, "ws://127.0.0.1:8787/v1/queues/jobs/ws", { signal });
 * ```
 */
export function openSocket(impl: WebSocketConstructor, url: string, options: { signal?: AbortSignal; fetch?: typeof fetch } = {}): Promise<Result<ClientSocket>> {
  const { signal } = options;
  if (signal?.aborted) return Promise.resolve(err(canceledError(signal)));
  return new Promise((resolve) => {
    let socket: ClientSocket;
    try {
      socket = new impl(url) as ClientSocket;
      socket.binaryType = "arraybuffer";
    } catch (thrown) {
      resolve(err("validation", `cannot open a WebSocket to ${masked(url)}: ${String(thrown)}`));
      return;
    }
    const done = (result: Result<ClientSocket>) => {
      socket.removeEventListener("open", onOpen);
      socket.removeEventListener("error", onFail);
      socket.removeEventListener("close", onFail);
      signal?.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const onOpen = () => done(ok(socket));
    let failed = false;
    const onFail = (event: { code?: number }) => {
      if (failed) return;
      failed = true;
      void explainRefusal(url, { fetch: options.fetch, signal, closeCode: event?.code }).then((error) => done(err(error)));
    };
    const onAbort = () => {
      try {
        socket.close();
      } catch {
        // Not open yet on some runtimes; it is dropped either way.
      }
      done(err(canceledError(signal)));
    };
    socket.addEventListener("open", onOpen);
    socket.addEventListener("error", onFail);
    socket.addEventListener("close", onFail);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** How long `explainRefusal` waits for the plain-HTTP answer. */
const EXPLAIN_TIMEOUT_MS = 5000;

/**
 * Why a WebSocket to `url` did not open: asks the same URL over plain HTTP (no upgrade; a token
 * in the URL still authenticates) and turns the answer into the error to report. 401/403 →
 * `unauthorized`, 404 → `not_found`, 501 → the server's code with `metadata.retryable: false`;
 * an answer that shows the route works (426: "needs an upgrade"), or no answer, → `unavailable`.
 *
 * @example
 * ```ts
 * const why = await explainRefusal("ws://127.0.0.1:8787/v1/queues/jobs/ws?token=wrong");
 * why.code; // "unauthorized"
 * ```
 */
export async function explainRefusal(url: string, options: { fetch?: typeof fetch; signal?: AbortSignal; closeCode?: number } = {}): Promise<SluiceError> {
  const shown = masked(url);
  const closed = options.closeCode ? ` (close ${options.closeCode})` : "";
  const fetcher = options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
  if (fetcher === undefined) return sluiceError("unavailable", `WebSocket ${shown} did not open${closed}`);
  const probe = new AbortController();
  const timer = setTimeout(() => probe.abort(), EXPLAIN_TIMEOUT_MS);
  const onAbort = () => probe.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const response = await fetcher(url.replace(/^ws/, "http"), { headers: { accept: "application/json" }, signal: probe.signal });
    const body = await response.json().catch(() => undefined) as { error?: { code?: unknown; message?: unknown } } | undefined;
    const said = typeof body?.error?.message === "string" ? body.error.message : response.statusText;
    const code = typeof body?.error?.code === "string" && isErrorCode(body.error.code) ? body.error.code : undefined;
    const status = response.status;
    const metadata = { status };
    if (status === 401 || status === 403) return sluiceError("unauthorized", `WebSocket ${shown} refused: ${status} ${said}`, { metadata });
    if (status === 404) return sluiceError("not_found", `WebSocket ${shown} refused: ${status} ${said}`, { metadata });
    if (status === 501) {
      return sluiceError(code ?? "unavailable", `this server does not accept WebSockets: ${status} ${said}`, { metadata: { status, retryable: false } });
    }
    if (status === 426 || response.ok) return sluiceError("unavailable", `WebSocket ${shown} did not open${closed}, though the server answers`, { metadata });
    return sluiceError(code ?? "unavailable", `WebSocket ${shown} refused: ${status} ${said}`, { metadata });
  } catch (thrown) {
    return sluiceError("unavailable", `WebSocket ${shown} did not open${closed}; the server did not answer over HTTP either (${String(thrown)})`);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** The URL without its token, for messages. */
function masked(url: string): string {
  return url.replace(/token=[^&]*/, "token=***");
}

/**
 * The bytes of a WebSocket message: an ArrayBuffer (binaryType "arraybuffer") or a view such as
 * a Node `Buffer`; `undefined` for text and anything else.
 *
 * @example
 * ```ts
 * const bytes = messageBytes(event.data);
 * if (bytes !== undefined) handle(decodeFrameMessage(bytes, codec));
 * ```
 */
export function messageBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
