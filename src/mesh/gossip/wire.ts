/**
 * Protobuf codecs of the gossip route body (`sluice.v1.GossipEnvelope`) and of the GOAWAY payload
 * (`sluice.v1.GoAway`), between the wire and the in-process types.
 *
 * Encoders take trusted values. Decoders take bytes from peers and never throw: bad bytes, an
 * unknown status, a uint64 beyond 2^53 or an envelope failing `validateEnvelope` become a
 * `validation` error (an HTTP 400). `last_seen_at_ms` is informational on the wire (the sender's
 * clock) and is neither sent nor read by Sluice.
 *
 * @example
 * ```ts
 * const body = encodeGossipEnvelope(membership.envelope("n2", 7));
 * const back = decodeGossipEnvelope(body); // ok({ fromId, fromUrl, round: 7, members })
 * ```
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { GoAwaySchema, GossipEnvelopeSchema, MemberSchema, MemberStatus as WireStatus } from "../../gen/sluice/v1/gossip_pb.ts";
import { sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { type GossipEnvelope, validateEnvelope } from "./envelope.ts";
import { type MemberRecord, memberRecord, type MemberStatus } from "./member.ts";

const TO_WIRE: Readonly<Record<MemberStatus, WireStatus>> = {
  alive: WireStatus.ALIVE,
  suspect: WireStatus.SUSPECT,
  dead: WireStatus.DEAD,
  left: WireStatus.LEFT,
};
const FROM_WIRE: ReadonlyMap<WireStatus, MemberStatus> = new Map(Object.entries(TO_WIRE).map(([k, v]) => [v, k as MemberStatus]));

/**
 * Encodes an envelope as `sluice.v1.GossipEnvelope` bytes.
 *
 * @example
 * ```ts
 * await fetch(`${url}/v1/mesh/gossip`, { method: "POST", body: encodeGossipEnvelope(envelope) });
 * ```
 */
export function encodeGossipEnvelope(envelope: GossipEnvelope): Uint8Array {
  const members = envelope.members.map((m) =>
    create(MemberSchema, {
      id: m.id,
      url: m.url,
      status: TO_WIRE[m.status],
      incarnation: BigInt(m.incarnation),
      queues: Object.fromEntries(Object.entries(m.queues).map(([q, n]) => [q, BigInt(n)])),
    }),
  );
  const message = create(GossipEnvelopeSchema, { fromId: envelope.fromId, fromUrl: envelope.fromUrl, members });
  if (envelope.round !== undefined) message.round = BigInt(envelope.round);
  return toBinary(GossipEnvelopeSchema, message);
}

/**
 * Decodes and validates an envelope from a peer; `validation` on anything wrong.
 *
 * @example
 * ```ts
 * const incoming = decodeGossipEnvelope(new Uint8Array(await request.arrayBuffer()));
 * if (!incoming.ok) return c.json({ error: incoming.error }, 400);
 * ```
 */
export function decodeGossipEnvelope(bytes: Uint8Array): Result<GossipEnvelope> {
  let message;
  try {
    message = fromBinary(GossipEnvelopeSchema, bytes);
  } catch (thrown) {
    return invalid(`not a sluice.v1.GossipEnvelope (${thrown instanceof Error ? thrown.message : String(thrown)})`);
  }
  const members: MemberRecord[] = [];
  for (const [i, m] of message.members.entries()) {
    const status = FROM_WIRE.get(m.status);
    if (status === undefined) return invalid(`members[${i}].status ${m.status} is not a member status`);
    const incarnation = safe(m.incarnation);
    if (incarnation === undefined) return invalid(`members[${i}].incarnation beyond 2^53`);
    const queues: Record<string, number> = {};
    for (const [queue, depth] of Object.entries(m.queues)) {
      const n = safe(depth);
      if (n === undefined) return invalid(`members[${i}].queues[${JSON.stringify(queue)}] beyond 2^53`);
      queues[queue] = n;
    }
    members.push(memberRecord({ id: m.id, url: m.url, status, incarnation, queues }));
  }
  const round = message.round === undefined ? undefined : safe(message.round);
  if (message.round !== undefined && round === undefined) return invalid("round beyond 2^53");
  const envelope: GossipEnvelope =
    round === undefined ? { fromId: message.fromId, fromUrl: message.fromUrl, members } : { fromId: message.fromId, fromUrl: message.fromUrl, round, members };
  return validateEnvelope(envelope);
}

/**
 * Encodes a GOAWAY payload naming live peers a client may move to.
 *
 * @example
 * ```ts
 * const payload = encodeGoAway(gossip.peerUrls()); // the GOAWAY frame's payload
 * ```
 */
export function encodeGoAway(peerUrls: readonly string[]): Uint8Array {
  return toBinary(GoAwaySchema, create(GoAwaySchema, { peerUrls: [...peerUrls] }));
}

/**
 * Decodes a GOAWAY payload; an empty payload is an empty list (older servers send none).
 *
 * @example
 * ```ts
 * const peers = decodeGoAway(frame.payload); // ok(["http://n2:8787", "http://n3:8787"])
 * ```
 */
export function decodeGoAway(bytes: Uint8Array): Result<string[]> {
  try {
    return ok(fromBinary(GoAwaySchema, bytes).peerUrls);
  } catch (thrown) {
    return err(sluiceError("validation", `not a sluice.v1.GoAway (${thrown instanceof Error ? thrown.message : String(thrown)})`));
  }
}

function safe(n: bigint): number | undefined {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
}

function invalid(message: string): Result<never> {
  return err(sluiceError("validation", `gossip envelope: ${message}`));
}
