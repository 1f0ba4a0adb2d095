import { type SluiceError, sluiceError } from "../result/errors.ts";
import type { Lease } from "../queue/lease.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import { FRAME_HEADER_BYTES, FrameFlag, FrameStatus, FrameType } from "../protocol/frame-layout.ts";
import { frameIdOf, isProblem, readFrameMessage } from "../protocol/frames.ts";
import { errorFrame, goawayFrame, pongFrame } from "../protocol/frame-builders.ts";
import { FrameWriter } from "../protocol/frame-writer.ts";
import { PublishIntake } from "./publish-intake.ts";
import type { FrameCodec } from "../wasm/mod.ts";
import { type FramePeer, safeSend } from "./frame-peer.ts";
import { ConsumerOutlet } from "./consumer-outlet.ts";
import type { MemoryBudget } from "../queue/memory-budget.ts";
import { ConnectionFence, type FenceCheck } from "./connection-fence.ts";
import { ReplyBatcher } from "./reply-batcher.ts";

/**
 * Options of `WsSession`.
 *
 * @example
 * ```ts
 * new WsSession({ queue, codec, peer, accepting: () => broker.accepting, maxPublishBacklog: 256 });
 * ```
 */
export interface WsSessionOptions {
  readonly queue: RelayQueue<Uint8Array>;
  readonly codec: FrameCodec;
  readonly peer: FramePeer;
  /** False once the server shuts down: a PUBLISH is then answered with GOAWAY (id = its id). */
  readonly accepting: () => boolean;
  /** PUBLISH frames held while the queue is full, per connection. Default 1024. */
  readonly maxPublishBacklog?: number;
  /**
   * Optional: schedules `run` after the I/O callbacks now running (e.g. with `setImmediate`).
   * When given, the first batch of deliveries of a turn still leaves at once (in a microtask,
   * with everything ready by then), and leases handed to this connection after it in the same
   * turn are delivered from `run`, so the rest of a burst being read leaves in one more batch
   * (with `peer.batch`: one write) instead of one write per message. A message published alone
   * waits for no turn. Without it, every delivery runs in a microtask.
   */
  readonly coalesce?: (run: () => void) => void;
  /** The server's memory budget, which publishes held while the queue is full count against. */
  readonly memoryBudget?: MemoryBudget;
  /**
   * The server's highest leadership term per scope (`FenceTerms`): with it, FENCE frames are
   * honoured (`ConnectionFence`); without it they are ignored.
   */
  readonly fences?: FenceCheck;
}

const FRESH_FRAMES = FrameWriter.fresh();
let reusingFrames: FrameWriter | undefined;
// One scratch for every session whose peer copies on send: JS runs one send at a time.
function sharedReusingWriter(): FrameWriter {
  reusingFrames ??= FrameWriter.reusing();
  return reusingFrames;
}

const EMPTY = new Uint8Array(0);
// Wrapped: workerd refuses a global called with another `this` ("Illegal invocation").
const microtask = (run: () => void): void => queueMicrotask(run);

/** Malformed frames in a row (no good frame between) before the connection is closed with 1008. */
const MAX_MALFORMED_RUN = 64;
/** WebSocket close code "policy violation". */
const POLICY_VIOLATION = 1008;

/**
 * One WebSocket connection on `GET /v1/queues/:queue/ws`, runtime-neutral (the
 * route feeds it messages and tells it when the socket closed).
 *
 * Producers send PUBLISH (id = their correlation id) and get a RECEIPT with the same id as soon
 * as the message is in the queue (see `PublishIntake`: in order, a bounded backlog while the
 * queue is full, GOAWAY once the server stops accepting).
 *
 * A bridge leading the queue's scope announces its leadership term with FENCE first; its later
 * PUBLISH frames are refused (ERROR `lease.inactive`, with the fence in the error's metadata)
 * once a higher term was announced for that scope on any connection (`ConnectionFence`).
 *
 * Consumers send CREDIT n, then ACK / NACK (optional NackReason payload; none = requeue) /
 * TOUCH (heartbeat) by lease token: see `ConsumerOutlet` (credit, fair batches, stuck and
 * backpressured consumers, suspects delivered alone). When the socket closes, every lease the
 * connection still holds is failed back at once (see `LeaseLedger`). A bad frame gets an ERROR
 * frame and the socket stays usable — up to 64 in a row, then it is closed with 1008. A binary
 * message may carry several frames back to back (a batch): they are handled in order, as if each
 * had come alone, so a batch of PUBLISH frames is committed in one store write. Once a client
 * sets `FrameFlag.ReadsBatches` on a frame, the connection answers in batches too: the receipts
 * and errors a message produced leave as one message (`ReplyBatcher`), deliveries as one message
 * per flush (`ConsumerOutlet`); a client that never sets it gets one frame per message.
 *
 * @example
 * ```ts
 * const session = new WsSession({ queue, codec, peer, accepting: () => broker.accepting });
 * socket.onmessage = (e) => session.handleMessage(e.data);
 * socket.onclose = () => session.closed();
 * ```
 */
export class WsSession {
  readonly #queue: RelayQueue<Uint8Array>;
  readonly #codec: FrameCodec;
  /** The peer, through the batcher of answers (receipts, errors, PONG, GOAWAY). */
  readonly #peer: ReplyBatcher;
  readonly #stop = new AbortController();
  readonly #frames: FrameWriter;
  readonly #intake: PublishIntake;
  readonly #outlet: ConsumerOutlet;
  readonly #fence: ConnectionFence | undefined;
  /** Malformed frames since the last good one: a client that sends only garbage is closed, not answered forever. */
  #malformedRun = 0;
  #blobs: Promise<void> = Promise.resolve();

  constructor(options: WsSessionOptions) {
    this.#queue = options.queue;
    this.#codec = options.codec;
    this.#frames = options.peer.copiesOnSend === true ? sharedReusingWriter() : FRESH_FRAMES;
    this.#peer = new ReplyBatcher(options.peer, this.#frames);
    this.#outlet = new ConsumerOutlet({
      queue: options.queue,
      peer: options.peer,
      frames: this.#frames,
      batched: () => this.#peer.batching,
      schedule: options.coalesce ?? microtask,
      // Coalescing to the end of the turn, the turn's first batch still leaves at once.
      soon: options.coalesce === undefined ? undefined : microtask,
      signal: this.#stop.signal,
      error: (error, id) => this.#error(error, id),
    });
    this.#fence = options.fences && new ConnectionFence(options.fences);
    this.#intake = new PublishIntake({
      queue: options.queue,
      peer: this.#peer,
      frames: this.#frames,
      accepting: options.accepting,
      maxBacklog: options.maxPublishBacklog ?? 1024,
      memoryBudget: options.memoryBudget,
      signal: this.#stop.signal,
      fence: this.#fence,
    });
  }

  /** Unused credit (deliveries the consumer still accepts). */
  get credit(): number {
    return this.#outlet.credit;
  }

  /** Leases this connection holds. */
  get held(): number {
    return this.#outlet.held;
  }

  /** The leases this connection holds (a snapshot): what a Durable Object keeps across hibernation. */
  heldLeases(): Lease<Uint8Array>[] {
    return this.#outlet.heldLeases();
  }

  /**
   * Resumes a connection whose server object was rebuilt (a Durable Object after hibernation):
   * the leases it held (resumed in the queue under their tokens) and its unused credit.
   *
   * @example
   * ```ts
   * session.adopt([queue.leaseByToken(token)!], 10);
   * ```
   */
  adopt(leases: readonly Lease<Uint8Array>[], credit: number): void {
    this.#outlet.adopt(leases, credit);
  }

  /** Feeds one WebSocket message (ArrayBuffer, typed array or Blob; text is answered with ERROR). */
  handleMessage(data: unknown): void {
    if (this.#stop.signal.aborted) return;
    // Bun hands over a Uint8Array (Buffer): use it as is — reading `.buffer` would copy it.
    if (data instanceof Uint8Array) return this.#handleBytes(data);
    if (data instanceof ArrayBuffer) return this.#handleBytes(new Uint8Array(data));
    if (ArrayBuffer.isView(data)) return this.#handleBytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (typeof Blob !== "undefined" && data instanceof Blob) return this.#handleBlob(data);
    this.#malformed(sluiceError("frame.malformed", "text messages are not frames: send one binary frame per message"));
  }

  // Its own method: a closure over `data` in `handleMessage` would cost every message a scope object.
  #handleBlob(data: Blob): void {
    // Blobs read asynchronously; chaining keeps the connection's frames in order.
    this.#blobs = this.#blobs.then(async () => this.#handleBytes(new Uint8Array(await data.arrayBuffer()))).catch(() => {});
  }

  // ERROR for a bad frame; after MAX_MALFORMED_RUN of them in a row, close (1008) instead.
  #malformed(problem: SluiceError): void {
    if (++this.#malformedRun <= MAX_MALFORMED_RUN) return this.#error(problem, frameIdOf(problem));
    if (this.#malformedRun === MAX_MALFORMED_RUN + 1) this.close(POLICY_VIOLATION, `${MAX_MALFORMED_RUN} malformed frames in a row`);
  }

  /** Tells the connection the server is shutting down (GOAWAY with id 0, naming `peerUrls` to move to). */
  goAway(peerUrls: readonly string[] = []): void {
    safeSend(this.#peer, goawayFrame(0, peerUrls));
  }

  /** Closes the socket (e.g. 1001 at shutdown); `closed()` runs when the runtime reports it. */
  close(code: number, reason: string): void {
    try {
      this.#peer.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  /** The socket is gone: stop delivering, drop unanswered publishes, fail held leases back now. */
  async closed(reason: SluiceError = sluiceError("unavailable", "consumer disconnected")): Promise<number> {
    if (!this.#stop.signal.aborted) this.#stop.abort(reason);
    return this.#outlet.releaseAll(reason);
  }

  // A message carries one frame or several back to back (a batch), handled in order. After a
  // frame whose header is unreadable the rest of the message cannot be framed: it is dropped.
  #handleBytes(bytes: Uint8Array): void {
    if (this.#stop.signal.aborted) return;
    this.#outlet.read();
    // What this message makes the server answer now leaves as one message (once batching is on).
    this.#peer.hold();
    try {
      // Several frames, all well-formed: decoded in one pass (one copy into the codec, one call).
      if (frameEnd(bytes, 0) < bytes.byteLength && this.#handleBatch(bytes)) return;
      for (let at = 0; at < bytes.byteLength && !this.#stop.signal.aborted; ) {
        const end = frameEnd(bytes, at);
        if (!this.#handleFrame(at === 0 && end === bytes.byteLength ? bytes : bytes.subarray(at, end))) return;
        at = end;
      }
    } finally {
      this.#peer.release();
    }
  }

  /**
   * A message of several frames decoded at once; false (nothing handled) unless every frame is
   * well-formed and complete — then the frame-by-frame path handles it, errors and all.
   */
  #handleBatch(bytes: Uint8Array): boolean {
    const codec = this.#codec;
    const arena = codec.inputBuffer(bytes.byteLength);
    arena.set(bytes);
    const r = codec.decode(bytes.byteLength);
    if (r.errorOffset >= 0 || r.partialOffset >= 0 || r.consumed !== bytes.byteLength) return false;
    const n = r.count;
    for (let i = 0; i < n; i++) if (r.status[i] !== FrameStatus.Ok) return false;
    this.#malformedRun = 0;
    // The result views and `arena` stay valid: nothing below decodes with this codec again.
    for (let i = 0; i < n && !this.#stop.signal.aborted; i++) {
      const type = r.types[i]!;
      const start = r.offsets[i]! + FRAME_HEADER_BYTES;
      const length = r.payloadLengths[i]!;
      // A PUBLISH's payload is copied out (queued); other payloads are read at once.
      const owned = type === FrameType.PUBLISH;
      const payload = length === 0 ? EMPTY : owned ? arena.slice(start, start + length) : arena.subarray(start, start + length);
      this.#dispatch(type, r.flags[i]!, r.ids[i]!, r.args[i]!, payload, owned);
    }
    return true;
  }

  /** One frame; false when its header was unreadable (frame boundaries are lost from there). */
  #handleFrame(bytes: Uint8Array): boolean {
    const header = readFrameMessage(bytes, this.#codec);
    if (isProblem(header)) {
      this.#malformed(header);
      return header.code === "frame.too_large";
    }
    this.#malformedRun = 0;
    // `header` is the codec's reused object: read what is needed before anything else decodes.
    // A view of the payload: the intake copies a PUBLISH's only if it keeps it (a refused publish costs no copy).
    const payload = header.payloadLength === 0 ? EMPTY : bytes.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + header.payloadLength);
    this.#dispatch(header.type, header.flags, header.id, header.arg, payload, false);
    return true;
  }

  /** One frame. `owned`: `payload` is a copy of its own (else a view of a buffer that is reused). */
  #dispatch(type: number, flags: number, id: number, arg: number, payload: Uint8Array, owned: boolean): void {
    if ((flags & FrameFlag.ReadsBatches) !== 0 && !this.#peer.batching) this.#peer.enable();
    switch (type) {
      case FrameType.PUBLISH:
        return this.#intake.publish(id, payload, owned);
      case FrameType.PUBLISH_END:
      case FrameType.PONG:
        return;
      case FrameType.PING:
        // A durability barrier: the PONG follows the commit of everything enqueued before it.
        return this.#pong(id);
      case FrameType.CREDIT:
        return this.#outlet.grant(arg);
      case FrameType.ACK:
        return this.#outlet.ack(id);
      case FrameType.NACK:
        return this.#outlet.nack(id, payload);
      case FrameType.TOUCH:
        return this.#outlet.touch(id);
      case FrameType.FENCE: {
        // A bridge's leadership term: its later PUBLISH frames are admitted only while it is current.
        const refused = this.#fence?.announce(payload);
        return refused === undefined ? undefined : this.#error(refused, id);
      }
      default:
        return this.#error(sluiceError("frame.malformed", `frame type 0x${type.toString(16)} is not sent by clients`), id);
    }
  }

  // Its own method: a closure over `id` in `#dispatch` would cost every frame a scope object.
  #pong(id: number): void {
    this.#queue.afterCommit(() => void safeSend(this.#peer, pongFrame(id)));
  }

  #error(error: SluiceError, id = 0): void {
    safeSend(this.#peer, errorFrame(error, id));
  }
}

// Where the frame starting at `at` ends, from its header's payloadLength (u32 LE at offset 4);
// the message's end when the header or the payload is cut short (the decoder then says so).
function frameEnd(bytes: Uint8Array, at: number): number {
  if (bytes.byteLength - at < FRAME_HEADER_BYTES) return bytes.byteLength;
  const length = (bytes[at + 4]! | (bytes[at + 5]! << 8) | (bytes[at + 6]! << 16) | (bytes[at + 7]! << 24)) >>> 0;
  return Math.min(bytes.byteLength, at + FRAME_HEADER_BYTES + length);
}
