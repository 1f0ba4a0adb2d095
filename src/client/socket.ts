/**
 * Opening a binary WebSocket with the runtime's global `WebSocket` (Bun, Deno, Node 22+,
 * browsers), as a Result: resolves once open, or with `unavailable` when it fails to open, and
 * `canceled` when the signal aborts first.
 *
 * @example
 * ```ts
 * const opened = await openSocket("ws://127.0.0.1:8787/v1/queues/default/ws", { signal });
 * if (opened.ok) opened.value.send(frame);
 * ```
 */
import { canceledError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";

export function openSocket(url: string, options: { signal?: AbortSignal } = {}): Promise<Result<WebSocket>> {
  const { signal } = options;
  if (signal?.aborted) return Promise.resolve(err(canceledError(signal)));
  return new Promise((resolve) => {
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch (thrown) {
      resolve(err(sluiceError("validation", `cannot open WebSocket ${url}: ${String(thrown)}`)));
      return;
    }
    socket.binaryType = "arraybuffer";
    const done = (result: Result<WebSocket>) => {
      socket.removeEventListener("open", onOpen);
      socket.removeEventListener("error", onFail);
      socket.removeEventListener("close", onFail);
      signal?.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const onOpen = () => done(ok(socket));
    const onFail = (event: Event) => {
      const code = (event as CloseEvent).code;
      // The upgrade was refused (401, 404, 503) or the server is unreachable.
      done(err(sluiceError("unavailable", `WebSocket ${url.replace(/token=[^&]*/, "token=…")} did not open${code ? ` (close ${code})` : ""}`)));
    };
    const onAbort = () => {
      socket.close();
      done(err(canceledError(signal)));
    };
    socket.addEventListener("open", onOpen);
    socket.addEventListener("error", onFail);
    socket.addEventListener("close", onFail);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
