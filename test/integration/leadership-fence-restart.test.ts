// A receiving Sluice remembers the highest leadership term per scope across its own restarts
// (issue 17): a real server process (bun, SQLite store) takes FENCE term 5 on its WebSocket
// route and a publish under it, is killed with SIGKILL and started again on the same data dir;
// then FENCE term 4 — and a PUBLISH after it — are refused (ERROR lease.inactive), a Relay Send
// under term 4 too (failed_precondition), while term 5 and 6 go through. A node without bridged
// queues shows no leadership scopes.
import { afterEach, describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { CommandSchema } from "../../src/gen/sluice/v1/command_pb.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { publishFrame } from "../../src/protocol/frame-builders.ts";
import { fenceFrame } from "../../src/protocol/fence.ts";
import { decodeErrorPayload } from "../../src/protocol/messages.ts";
import { RelayClient } from "../../src/transport/relay-client.ts";
import { openFrameSocket } from "./frame-socket.ts";
import { getJson, type ServerProcess, startServer, tempDir } from "./server-process.ts";

const SCOPE = "bridge/jobs";
const bytes = (s: string) => new TextEncoder().encode(s);
let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  server = undefined;
});

const errorOf = (payload: Uint8Array) => {
  const decoded = decodeErrorPayload(payload);
  if (!decoded.ok) throw new Error(decoded.error.message);
  return decoded.value;
};

describe("a downstream Sluice's fence terms survive its restart", () => {
  test("term 5 accepted, kill -9, restart on the same store: term 4 refused on the socket and the Relay, 5 and 6 accepted", async () => {
    const env = { SLUICE_DATA_DIR: tempDir() };
    const config = { queues: { sink: {} } };
    server = await startServer("bun", { config, env });
    const ws = (url: string) => `${url.replace("http", "ws")}/v1/queues/sink/ws`;
    const first = await openFrameSocket(ws(server.url));
    first.send(fenceFrame({ scope: SCOPE, term: 5 }));
    first.send(publishFrame(1, bytes("under 5")));
    expect((await first.next(FrameType.RECEIPT)).id).toBe(1);
    first.close();
    await server.stop("SIGKILL");

    server = await startServer("bun", { config, env });
    const stale = await openFrameSocket(ws(server.url));
    stale.send(fenceFrame({ scope: SCOPE, term: 4 }, 7));
    stale.send(publishFrame(2, bytes("under 4")));
    const refusedFence = await stale.next(FrameType.ERROR);
    const refusedPublish = await stale.next(FrameType.ERROR);
    expect([refusedFence.id, errorOf(refusedFence.payload).code]).toEqual([7, "lease.inactive"]);
    expect([refusedPublish.id, errorOf(refusedPublish.payload).code]).toEqual([2, "lease.inactive"]);
    expect(errorOf(refusedPublish.payload).metadata).toMatchObject({ fenceScope: SCOPE, fenceTerm: "4", highestTerm: "5" });

    const relay = new RelayClient({ baseUrl: server.url });
    const command = (payload: string) => create(CommandSchema, { queue: "sink", id: { case: "sequenceId", value: 1n }, payload: bytes(payload), attempt: 1 });
    const late = await relay.send(command("relay under 4"), { fence: { scope: SCOPE, term: 4 } });
    expect(!late.ok && late.error.code).toBe("lease.inactive");
    expect((await relay.send(command("relay under 5"), { fence: { scope: SCOPE, term: 5 } })).ok).toBe(true);

    const current = await openFrameSocket(ws(server.url));
    current.send(fenceFrame({ scope: SCOPE, term: 6 }));
    current.send(publishFrame(3, bytes("under 6")));
    expect((await current.next(FrameType.RECEIPT)).id).toBe(3);
    const held = await getJson<{ pending: number }>(`${server.url}/v1/queues/sink`);
    expect(held.pending).toBe(3); // "under 5", "relay under 5", "under 6"
    expect(await getJson(`${server.url}/v1/cluster/leaders`)).toEqual({ scopes: [] });
    stale.close();
    current.close();
  }, 60_000);
});
