/**
 * The optional GOAWAY payload, `sluice.v1.GoAway{repeated string peer_urls}`: the live peers a
 * draining node names so clients can move (DESIGN.md "Mesh roles", Gossip). A GOAWAY without a
 * payload (older servers, a node without peers) reads as no peers.
 *
 * @example
 * ```ts
 * const frame = goawayFrame(0, ["http://10.0.0.2:8787"]);
 * goAwayPeers(decodeFrame(frame).payload); // ["http://10.0.0.2:8787"]
 * ```
 */
import { PayloadReader, PayloadWriter } from "./payload-wire.ts";

/**
 * Encodes the GOAWAY payload; no peers → an empty payload (what old clients expect).
 *
 * @example
 * ```ts
 * encodeGoAwayPayload([]).length; // 0
 * ```
 */
export function encodeGoAwayPayload(peerUrls: readonly string[]): Uint8Array {
  if (peerUrls.length === 0) return new Uint8Array(0);
  const w = new PayloadWriter();
  for (const url of peerUrls) w.repeatedString(1, url);
  return w.finish();
}

/**
 * The peer URLs of a GOAWAY payload; an empty or unreadable payload is no peers (never throws).
 *
 * @example
 * ```ts
 * goAwayPeers(frame.payload); // ["http://10.0.0.2:8787", "http://10.0.0.3:8787"]
 * ```
 */
export function goAwayPeers(payload: Uint8Array): string[] {
  if (payload.length === 0) return [];
  try {
    const peerUrls: string[] = [];
    const r = new PayloadReader(payload);
    for (let f = r.next(); f !== 0; f = r.next()) {
      if (f === 1) peerUrls.push(r.string());
      else r.skip();
    }
    return peerUrls.filter((url) => /^https?:\/\/[^/]+/.test(url));
  } catch {
    return [];
  }
}
