/**
 * `SocketLike`: the part of the WHATWG `WebSocket` a downstream connection uses, so the global
 * `WebSocket` of Bun, Deno, Node 22+ and workerd, the `ws` package's client, and test doubles all
 * fit; and `openSocketLike`, which opens one as a Result.
 *
 * @example
 * ```ts
 * const opened = await openSocketLike((url) => new WebSocket(url), "ws://127.0.0.1:9000/", { signal });
 * if (opened.ok) opened.value.send(pingFrame(1));
 * ```
 */
import { canceledError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";

/** An event listener as `addEventListener` takes it. */
export type SocketListener = (event: { data?: unknown; code?: number; reason?: string }) => void;

/** The WebSocket surface the bridge needs. */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: SocketListener): void;
  removeEventListener(type: "open" | "message" | "close" | "error", listener: SocketListener): void;
}

/** Creates a (connecting) socket for a URL. */
export type SocketFactory = (url: string) => SocketLike;

/** `readyState` of an open WebSocket. */
export const SOCKET_OPEN = 1;

/**
 * The default factory: the runtime's global `WebSocket` (Bun, Deno, Node 22+, workerd).
 *
 * @example
 * ```ts
 * const socket = globalWebSocket("ws://127.0.0.1:9000/");
 * ```
 */
export const globalWebSocket: SocketFactory = (url) => new WebSocket(url) as unknown as SocketLike;

/**
 * Opens a socket: `ok` once open, `unavailable` when it fails to open, `canceled` when the signal
 * aborts first (the half-open socket is closed).
 *
 * @example
 * ```ts
 * const opened = await openSocketLike(globalWebSocket, url, { signal });
 * ```
 */
export function openSocketLike(factory: SocketFactory, url: string, options: { signal?: AbortSignal } = {}): Promise<Result<SocketLike>> {
  const { signal } = options;
  if (signal?.aborted) return Promise.resolve(err(canceledError(signal)));
  return new Promise((resolve) => {
    let socket: SocketLike;
    try {
      socket = factory(url);
    } catch (thrown) {
      resolve(err(sluiceError("validation", `cannot open WebSocket ${url}: ${String(thrown)}`)));
      return;
    }
    socket.binaryType = "arraybuffer";
    const done = (result: Result<SocketLike>) => {
      socket.removeEventListener("open", onOpen);
      socket.removeEventListener("error", onFail);
      socket.removeEventListener("close", onFail);
      signal?.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const onOpen = () => done(ok(socket));
    // The upgrade was refused (401, 404, 503) or the peer is unreachable; never echo a token.
    const onFail: SocketListener = (event) =>
      done(err(sluiceError("unavailable", `WebSocket ${url.replace(/token=[^&]*/, "token=…")} did not open${event.code ? ` (close ${event.code})` : ""}`)));
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
