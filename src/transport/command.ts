/**
 * `commandOf(lease)`: the `sluice.v1.Command` a leased message travels as on the RPC path, and
 * `commandKey` — the idempotency key it carries, so that re-sending the same delivery (an RPC
 * attempt that timed out after the far side had enqueued it, a retry after a lost reply) is
 * recognised as a duplicate by a receiving Sluice instead of being enqueued twice.
 *
 * The key names the queue, the sequence id and the enqueue time: sequence ids restart when a
 * server restarts, and the time keeps a new message with an old id from passing as a duplicate.
 *
 * @example
 * ```ts
 * const command = commandOf(lease); // { queue: "jobs", id: { case: "sequenceId", value: 42n }, payload, attempt: 1, options: { idempotencyKey } }
 * await client.send({ command });
 * ```
 */
import { create } from "@bufbuild/protobuf";
import { type Command, CommandSchema } from "../gen/sluice/v1/command_pb.ts";
import { PublishOptionsSchema } from "../gen/sluice/v1/publish_pb.ts";
import type { Lease } from "../queue/lease.ts";

/**
 * The idempotency key of a delivery's message.
 *
 * @example
 * ```ts
 * commandKey(lease); // "jobs:42:1795000000000"
 * ```
 */
export function commandKey(lease: Lease<Uint8Array>): string {
  return `${lease.queue}:${lease.sequenceId}:${lease.enqueuedAt}`;
}

/**
 * The Command for a lease; `queue` overrides the queue name it is addressed to downstream.
 *
 * @example
 * ```ts
 * commandOf(lease, "jobs-replica");
 * ```
 */
export function commandOf(lease: Lease<Uint8Array>, queue: string = lease.queue): Command {
  return create(CommandSchema, {
    queue,
    id: { case: "sequenceId", value: BigInt(lease.sequenceId) },
    payload: lease.payload,
    attempt: lease.attempt,
    options: create(PublishOptionsSchema, { idempotencyKey: commandKey(lease) }),
  });
}
