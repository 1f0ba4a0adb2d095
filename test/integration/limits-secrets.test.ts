// Issue 12, secrets, against the real server process: a bridge configured with `token` and a
// downstream URL carrying `?token=` sends `Authorization: Bearer` on the WebSocket upgrade and on
// the Relay fallback (a second Sluice with authTokens), and the server's log — boot line, socket
// down — contains neither secret.
import { afterEach, describe, expect, test } from "../harness.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { decodeFrameMessage } from "../../src/protocol/frames.ts";
import { ackFrame, pongFrame } from "../../src/protocol/frame-builders.ts";
import { createApp } from "../../src/server/app.ts";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";
import { type ServerProcess, startServer, waitFor } from "./server-process.ts";

const codec = createJsFrameCodec();
const TOKEN = "s3cret-bridge-token";
const URL_TOKEN = "tok-in-url-123";
let server: ServerProcess | undefined;
const stops: Array<() => unknown> = [];
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  server = undefined;
  for (const stop of stops.splice(0)) await stop();
});

// A socket downstream that refuses an upgrade without the bearer token, and ACKs PUBLISH frames.
function startSocketDownstream() {
  const seen: Array<string | null> = [];
  const acked: number[] = [];
  const ws = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, srv) {
      seen.push(req.headers.get("authorization"));
      if (req.headers.get("authorization") !== `Bearer ${TOKEN}`) return new Response("no", { status: 401 });
      return srv.upgrade(req) ? undefined : new Response("upgrade failed", { status: 400 });
    },
    websocket: {
      message(socket, data) {
        const frame = decodeFrameMessage(new Uint8Array(data as Buffer), codec);
        if (!frame.ok) return;
        if (frame.value.type === FrameType.PING) socket.send(pongFrame(frame.value.id));
        if (frame.value.type === FrameType.PUBLISH) (acked.push(frame.value.id), socket.send(ackFrame(frame.value.id)));
      },
    },
  });
  return { ws, seen, acked };
}

describe("bridge secrets (server on bun)", () => {
  test("token sent as Bearer on the upgrade and the RPC fallback; the log shows neither it nor the URL's token", async () => {
    const socket = startSocketDownstream();
    stops.push(() => socket.ws.stop(true));
    // The RPC fallback: a second Sluice that demands the same token.
    const loaded = loadConfig({ fileText: JSON.stringify({ authTokens: [TOKEN], queues: { jobs: {} } }) });
    if (!loaded.ok) throw new Error(loaded.error.message);
    const relayBroker = new Broker({ config: loaded.value });
    const relay = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: createApp(loaded.value, { broker: relayBroker }).fetch });
    stops.push(() => relay.stop(true));

    server = await startServer("bun", {
      config: {
        queues: {
          jobs: {
            bridge: {
              wsUrl: `ws://127.0.0.1:${socket.ws.port}/ingest?token=${URL_TOKEN}`,
              rpcUrl: `http://127.0.0.1:${relay.port}`,
              token: TOKEN,
              sendTimeoutMs: 500,
              pingIntervalMs: 200,
            },
          },
        },
      },
    });
    const publish = (text: string) => fetch(`${server!.url}/v1/queues/jobs/messages`, { method: "POST", body: text });
    expect((await publish("one")).status).toBe(202);
    await waitFor(() => socket.acked.length === 1, 10_000, "delivery over the socket");
    expect(socket.seen.every((h) => h === `Bearer ${TOKEN}`)).toBe(true);

    // The socket goes away: the next message takes the RPC fallback, with the token.
    socket.ws.stop(true);
    await waitFor(() => server!.output().includes("socket down"), 10_000, "socket down logged");
    expect((await publish("two")).status).toBe(202);
    await waitFor(() => relayBroker.queue("jobs")!.stats().enqueued === 1, 10_000, "delivery over the RPC fallback");

    const log = server.output();
    expect(log).toContain("sluice: bridge jobs → socket ws://127.0.0.1:");
    expect(log).toContain("token=***");
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain(URL_TOKEN);
  }, 30_000);
});
