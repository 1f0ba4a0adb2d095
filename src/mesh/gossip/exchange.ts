/**
 * The steps of a gossip round and of one push-pull exchange, shared by the pumps
 * (`outbound.ts`, `inbound.ts`) and the in-process simulation (`simulation.ts`), so what the
 * simulation measures is what the server runs.
 *
 * @module
 */
import type { Result } from "../../result/result.ts";
import type { GossipEnvelope } from "./envelope.ts";
import type { LocalHealth } from "./local-health.ts";
import type { QueueDepths } from "./member.ts";
import type { Membership } from "./membership.ts";

/**
 * A node's gossip state: its membership table and its local health.
 *
 * @example
 * ```ts
 * const peer: GossipPeer = { membership: new Membership({ id, url, clock }), health: new LocalHealth() };
 * ```
 */
export interface GossipPeer {
  readonly membership: Membership;
  readonly health: LocalHealth;
}

/**
 * Where one exchange goes: a member (id known) or a seed url (id learned from its reply).
 *
 * @example
 * ```ts
 * const target: GossipTarget = { url: "http://n2:8787", id: "n2" };
 * ```
 */
export interface GossipTarget {
  readonly url: string;
  readonly id?: string;
}

/**
 * What a round needs besides the peer.
 *
 * @example
 * ```ts
 * beginRound(peer, { lateByMs: 0, intervalMs: 1000, fanout: 3, seeds: [], random: Math.random });
 * ```
 */
export interface RoundInput {
  /** How late this round started (ms after it was due). */
  readonly lateByMs: number;
  readonly intervalMs: number;
  readonly fanout: number;
  readonly seeds: readonly string[];
  readonly random: () => number;
  /** This node's pending depths now (a change raises its incarnation). */
  readonly queues?: QueueDepths;
}

/**
 * Starts a round: feeds the lateness to local health, refreshes this node's queue depths, sweeps
 * the table with the health multiplier, and returns the round's targets.
 *
 * @example
 * ```ts
 * for (const target of beginRound(peer, input)) outbound.enqueue({ ...target, round });
 * ```
 */
export function beginRound(peer: GossipPeer, input: RoundInput): GossipTarget[] {
  peer.health.roundStarted(input.lateByMs, input.intervalMs);
  if (input.queues !== undefined) peer.membership.updateQueues(input.queues);
  peer.membership.sweep(peer.health.multiplier);
  return chooseTargets(peer.membership, input.fanout, input.seeds, input.random);
}

/**
 * Up to `fanout` random live peers; while none is known, up to `fanout` random seeds (not this
 * node's own url). No peers and no seeds: no targets — a lone node sends nothing.
 *
 * @example
 * ```ts
 * chooseTargets(membership, 3, ["http://seed:8787"], Math.random); // [{ url: "http://seed:8787" }] at first
 * ```
 */
export function chooseTargets(membership: Membership, fanout: number, seeds: readonly string[], random: () => number): GossipTarget[] {
  const live = membership.pickTargets(fanout, random);
  if (live.length > 0) return live.map((r) => ({ url: r.url, id: r.id }));
  const pool = seeds.filter((url) => url !== membership.self.url);
  const out: GossipTarget[] = [];
  while (out.length < fanout && pool.length > 0) {
    const i = Math.floor(random() * pool.length);
    out.push({ url: pool[i]! });
    pool.splice(i, 1);
  }
  return out;
}

/**
 * The envelope to send to `target` (built fresh for every attempt).
 *
 * @example
 * ```ts
 * const reply = await send(target.url, requestFor(peer, target, round), signal);
 * ```
 */
export function requestFor(peer: GossipPeer, target: GossipTarget, round?: number): GossipEnvelope {
  return peer.membership.envelope(target.id, round);
}

/**
 * The reply to an incoming envelope, built before it is merged (the route answers at once; the
 * merge runs in the inbound pump).
 *
 * @example
 * ```ts
 * const reply = answer(peer, incoming, round);
 * ```
 */
export function answer(peer: GossipPeer, incoming: GossipEnvelope, round?: number): GossipEnvelope {
  return peer.membership.envelope(incoming.fromId, round);
}

/**
 * Merges an envelope (its sender counts as heard from); a refutation it forced feeds local
 * health. Returns how many records changed.
 *
 * @example
 * ```ts
 * absorb(peer, incoming); // what the inbound pump's handler does
 * ```
 */
export function absorb(peer: GossipPeer, envelope: GossipEnvelope): number {
  const before = peer.membership.refutations;
  const changed = peer.membership.receive(envelope);
  if (peer.membership.refutations > before) peer.health.refuted();
  return changed;
}

/**
 * What an outbound attempt's outcome means: a reply is merged (and counts for health); a failure
 * is retried, or on the final attempt becomes a suspicion hint about the target — never a
 * verdict; the sweep decides. A first hint about a peer counts against local health; probing an
 * already-hinted peer again does not.
 *
 * @example
 * ```ts
 * const outcome = settle(peer, target, reply, lease.isPoisoned); // "merged" | "retry" | "unreachable"
 * ```
 */
export function settle(peer: GossipPeer, target: GossipTarget, reply: Result<GossipEnvelope>, finalAttempt: boolean): "merged" | "retry" | "unreachable" {
  if (reply.ok) {
    absorb(peer, reply.value);
    peer.health.exchangeSucceeded();
    return "merged";
  }
  if (!finalAttempt) return "retry";
  // Probing an already-hinted peer again is no new evidence about this node's own health.
  if (target.id === undefined || !peer.membership.isHinted(target.id)) peer.health.exchangeFailed();
  if (target.id !== undefined) peer.membership.unreachable(target.id);
  return "unreachable";
}
