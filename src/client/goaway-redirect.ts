/**
 * Where a Producer or Consumer connects next: the configured URL until a server's GOAWAY names
 * live peers (payload `sluice.v1.GoAway{peer_urls}`, sent by a draining mesh node), then the next
 * of those peers — never the node that is going away. A GOAWAY without peers (an older server,
 * a node alone) changes nothing: the client reconnects to the same URL as before.
 *
 * @module
 */
import { goAwayPeers } from "../protocol/goaway.ts";

/**
 * The URL a client connects to, moved by GOAWAY frames that name peers.
 *
 * @example
 * ```ts
 * const target = new ConnectTarget("http://10.0.0.1:8787");
 * target.follow(goawayPayload); // "http://10.0.0.2:8787" (the first named peer that is not 10.0.0.1)
 * connectSocket({ ...options, url: target.url });
 * ```
 */
export class ConnectTarget {
  #url: string;

  constructor(url: string) {
    this.#url = url;
  }

  /** The URL to connect to now. */
  get url(): string {
    return this.#url;
  }

  /**
   * Reads a GOAWAY payload; when it names a peer other than the current URL, the next connect
   * goes there. Returns the new URL, or undefined when nothing changed.
   */
  follow(payload: Uint8Array): string | undefined {
    const current = normalise(this.#url);
    const next = goAwayPeers(payload).find((peer) => normalise(peer) !== current);
    if (next === undefined) return undefined;
    this.#url = next;
    return next;
  }
}

function normalise(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return url.replace(/\/+$/, "");
  }
}
