/**
 * A child signal with its `abort` and its `dispose` (unhooks it from the parent).
 *
 * @example
 * ```ts
 * const link: LinkedSignal = linkSignal(parent);
 * ```
 */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
  dispose(): void;
}

/**
 * Creates a child abort signal linked to `parent`: aborting the parent aborts the child, never the
 * reverse. `dispose()` unhooks it from the parent — `forEach` links one child per item to a
 * long-lived signal, and without unhooking every item would leak a listener.
 *
 * @example
 * ```ts
 * const link = linkSignal(outer);
 * try { await handler(item, link.signal); } finally { link.dispose(); }
 * ```
 */
export function linkSignal(parent?: AbortSignal): LinkedSignal {
  const controller = new AbortController();
  if (parent === undefined) {
    return { signal: controller.signal, abort: (r) => controller.abort(r), dispose: () => {} };
  }
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, abort: () => {}, dispose: () => {} };
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: () => parent.removeEventListener("abort", onAbort),
  };
}

/**
 * Calls `listener` once when `signal` aborts; returns the function that unhooks it.
 *
 * @example
 * ```ts
 * const off = onAbort(signal, () => socket.close());
 * off();
 * ```
 */
export function onAbort(signal: AbortSignal | undefined, listener: () => void): () => void {
  if (signal === undefined) return () => {};
  if (signal.aborted) {
    listener();
    return () => {};
  }
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}
