import { isErrorCode, type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { goAwayPeers } from "../protocol/goaway.ts";
import { FrameType } from "../protocol/frame-layout.ts";
import { ackFrame, creditFrame, nackFrame, pingFrame, publishFrame, touchFrame } from "../protocol/frame-builders.ts";
import { decodeFrameMessage } from "../protocol/frames.ts";
import { decodeErrorPayload, decodeReceiptPayload } from "../protocol/messages.ts";
import { base64FromBytes, bytesFromBase64 } from "../protocol/base64.ts";
import { createJsFrameCodec } from "../protocol/js-frame-codec.ts";
import type { FramePeer } from "./frame-peer.ts";

/**
 * The WebSocket subprotocol of the JSON text protocol (DESIGN.md "JSON text sub-protocol"): one
 * JSON object per text message, for generic clients (wscat, a browser console) that cannot
 * build binary frames. A connection that asks for it (`Sec-WebSocket-Protocol`) speaks only it.
 *
 * @example
 * ```ts
 * new WebSocket("ws://127.0.0.1:8787/v1/queues/jobs/ws", [JSON_SUBPROTOCOL]);
 * ```
 */
export const JSON_SUBPROTOCOL = "sluice.json.v1";

// Decodes what the session sends (only well-formed frames of its own making).
const codec = createJsFrameCodec({ maxPayloadBytes: 0x7fff0000 });
const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * Wraps a text-sending socket as the binary `FramePeer` a `WsSession` talks to: every frame the
 * session sends leaves as its JSON message. Payloads go as UTF-8 text when they are valid UTF-8,
 * else base64 (`encoding` says which); ids and tokens as decimal strings.
 *
 * @example
 * ```ts
 * const peer = jsonPeer({ sendText: (text) => ws.send(text), close: (code, reason) => ws.close(code, reason) });
 * ```
 */
export function jsonPeer(socket: { sendText(text: string): unknown; close(code: number, reason: string): void; bufferedAmount?(): number }): FramePeer {
  return {
    send: (frame) => {
      const text = frameToJson(frame);
      if (text !== undefined) socket.sendText(text);
    },
    close: (code, reason) => socket.close(code, reason),
    bufferedAmount: socket.bufferedAmount,
  };
}

/**
 * The JSON message for one frame the server sends, or undefined for frames the text protocol
 * has no message for.
 *
 * @example
 * ```ts
 * frameToJson(pongFrame()); // '{"op":"pong"}'
 * ```
 */
export function frameToJson(bytes: Uint8Array): string | undefined {
  const decoded = decodeFrameMessage(bytes, codec);
  if (!decoded.ok) return undefined;
  const { type, id, arg, payload } = decoded.value;
  switch (type) {
    case FrameType.RECEIPT: {
      const receipt = decodeReceiptPayload(payload);
      if (!receipt.ok) return undefined;
      return JSON.stringify({ op: "receipt", id: String(id), sequenceId: String(receipt.value.sequenceId), duplicate: receipt.value.duplicate });
    }
    case FrameType.DELIVER:
      return JSON.stringify({ op: "deliver", token: String(id), attempt: arg, ...encodePayload(payload) });
    case FrameType.ERROR: {
      const error = decodeErrorPayload(payload);
      const { code, message } = error.ok ? error.value : { code: "internal", message: "unreadable error" };
      return JSON.stringify({ op: "error", code, message, ...(id !== 0 ? { id: String(id) } : {}) });
    }
    case FrameType.PONG:
      return JSON.stringify({ op: "pong" });
    case FrameType.GOAWAY:
      return JSON.stringify({ op: "goaway", peers: goAwayPeers(payload), ...(id !== 0 ? { id: String(id) } : {}) });
    default:
      return undefined;
  }
}

/**
 * The binary frame for one JSON message a client sends, or a `frame.malformed` error saying
 * what is wrong with it.
 *
 * @example
 * ```ts
 * jsonToFrame('{"op":"publish","id":"7","data":"hello","encoding":"utf8"}'); // ok(PUBLISH frame)
 * ```
 */
export function jsonToFrame(text: string): Result<Uint8Array> {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return malformed("not JSON: send one JSON object per text message");
  }
  if (typeof message !== "object" || message === null || Array.isArray(message)) return malformed("a message is a JSON object with an \"op\"");
  const m = message as Record<string, unknown>;
  switch (m.op) {
    case "publish": {
      const id = decimal(m.id, "id");
      if (!id.ok) return id;
      const data = decodePayload(m.data, m.encoding);
      return data.ok ? ok(publishFrame(id.value, data.value)) : data;
    }
    case "credit":
      return Number.isSafeInteger(m.n) && (m.n as number) >= 0 && (m.n as number) <= 0xffffffff ? ok(creditFrame(m.n as number)) : malformed("credit needs n, an integer from 0 to 4294967295");
    case "ack":
    case "touch":
    case "nack": {
      const token = decimal(m.token, "token");
      if (!token.ok) return token;
      if (m.op === "ack") return ok(ackFrame(token.value));
      if (m.op === "touch") return ok(touchFrame(token.value));
      return nack(token.value, m);
    }
    case "ping":
      return ok(pingFrame(0));
    default:
      return malformed(`unknown op ${JSON.stringify(m.op)} (publish, credit, ack, nack, touch, ping)`);
  }
}

function nack(token: number, m: Record<string, unknown>): Result<Uint8Array> {
  if (m.requeue !== undefined && typeof m.requeue !== "boolean") return malformed("nack requeue must be true or false");
  const error = (m.error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof error !== "object" || error === null) return malformed("nack error must be an object {code, message}");
  const code = typeof error.code === "string" && isErrorCode(error.code) ? error.code : "internal";
  const message = typeof error.message === "string" ? error.message : "nacked by consumer";
  return ok(nackFrame(token, { code, message, requeue: m.requeue !== false }));
}

function decimal(value: unknown, name: string): Result<number> {
  if (typeof value !== "string" || !/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    return malformed(`${name} must be a decimal string (a safe integer)`);
  }
  return ok(Number(value));
}

function decodePayload(data: unknown, encoding: unknown): Result<Uint8Array> {
  if (typeof data !== "string") return malformed("publish needs data, a string");
  if (encoding === undefined || encoding === "utf8") return ok(encoder.encode(data));
  if (encoding !== "base64") return malformed('encoding must be "utf8" or "base64"');
  try {
    return ok(bytesFromBase64(data));
  } catch {
    return malformed("data is not valid base64");
  }
}

function encodePayload(payload: Uint8Array): { data: string; encoding: "utf8" | "base64" } {
  try {
    return { data: utf8.decode(payload), encoding: "utf8" };
  } catch {
    return { data: base64FromBytes(payload), encoding: "base64" };
  }
}

function malformed(message: string): Result<never> {
  return err(sluiceError("frame.malformed", message));
}

/**
 * The JSON error message for a client message that could not be read.
 *
 * @example
 * ```ts
 * socket.send(jsonError(problem));
 * ```
 */
export function jsonError(error: SluiceError): string {
  return JSON.stringify({ op: "error", code: error.code, message: error.message });
}
