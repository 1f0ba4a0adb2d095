// Issue #16, the server half: mesh identity config, the gossip routes, the broker's shutdown
// (left first, GOAWAY naming live peers, stop after the drain), the GOAWAY payload and the SDK's
// ConnectTarget that follows it.
import { describe, expect, test } from "../harness.ts";
import { loadConfig, type SluiceConfig } from "../../src/server/config.ts";
import { Broker } from "../../src/server/broker.ts";
import { createApp } from "../../src/server/app.ts";
import type { GossipView } from "../../src/server/routes/mesh-gossip.ts";
import { GossipService } from "../../src/mesh/gossip/service.ts";
import { decodeGossipEnvelope, encodeGossipEnvelope } from "../../src/mesh/gossip/wire.ts";
import { goawayFrame } from "../../src/protocol/frame-builders.ts";
import { FRAME_HEADER_BYTES } from "../../src/protocol/frame-layout.ts";
import { encodeGoAwayPayload, goAwayPeers } from "../../src/protocol/goaway.ts";
import { ConnectTarget } from "../../src/client/goaway-redirect.ts";
import { meshIdentity } from "../../src/runtime/gossip.ts";
import { err, ok } from "../../src/result/result.ts";

const TOKEN = "s3cret";
function config(file: Record<string, unknown> = {}, env: Record<string, string> = {}): SluiceConfig {
  const loaded = loadConfig({ fileText: JSON.stringify({ storage: "memory", authTokens: [TOKEN], ...file }), env });
  if (!loaded.ok) throw new Error(loaded.error.message);
  return loaded.value;
}
const auth = { authorization: `Bearer ${TOKEN}` };

describe("mesh identity", () => {
  test("SLUICE_ADVERTISE_URL and SLUICE_PEERS (comma-separated) win over mesh.advertiseUrl / mesh.peers", () => {
    const c = config({ mesh: { advertiseUrl: "http://a:1", peers: ["http://b:2"] } }, { SLUICE_ADVERTISE_URL: "http://x:9/", SLUICE_PEERS: " http://p:1, http://q:2/ ,," });
    expect(c.mesh?.advertiseUrl).toBe("http://x:9");
    expect(c.mesh?.peers).toEqual(["http://p:1", "http://q:2"]);
    expect(config({ mesh: { peers: "http://b:2,http://c:3" } }).mesh?.peers).toEqual(["http://b:2", "http://c:3"]);
  });
  test("bad peers are configuration errors", () => {
    const r = loadConfig({ fileText: JSON.stringify({ mesh: { peers: [1] } }), env: {} });
    expect(!r.ok && r.error.message).toContain("mesh.peers");
    const bad = loadConfig({ fileText: "{}", env: { SLUICE_PEERS: "nope" } });
    expect(!bad.ok && bad.error.message).toContain("http(s)://");
  });
  test("defaults: the listening URL; node id from SLUICE_NODE_ID; own URL left out of the seeds", () => {
    const c = config({ host: "127.0.0.1" }, { SLUICE_NODE_ID: "n1", SLUICE_PEERS: "http://127.0.0.1:7000,http://127.0.0.1:7001" });
    expect(meshIdentity(c, 7000)).toEqual({ nodeId: "n1", url: "http://127.0.0.1:7000", seeds: ["http://127.0.0.1:7001"] });
    expect(meshIdentity(config(), 8787).nodeId).toMatch(/:8787$/);
  });
});

describe("gossip routes", () => {
  test("without gossip: members lists this node alone with its queue depths; POST 503", async () => {
    const c = config({ mesh: { nodeId: "solo" } });
    const broker = new Broker({ config: c });
    const app = createApp(c, { broker });
    const res = await app.request("/v1/cluster/members", { headers: auth });
    const body = (await res.json()) as { self: string; members: { id: string; status: string; queues: Record<string, number> }[] };
    expect(body.self).toBe("solo");
    expect(body.members).toHaveLength(1);
    expect(body.members[0]!.status).toBe("alive");
    expect(body.members[0]!.queues.default).toBe(0);
    expect((await app.request("/v1/mesh/gossip", { method: "POST", headers: auth, body: new Uint8Array(1) })).status).toBe(503);
    await broker.shutdown({ drainMs: 0 });
  });

  test("a running GossipService: bearer auth, protobuf in and out, 400 on garbage, members include the sender", async () => {
    const c = config();
    const broker = new Broker({ config: c });
    const gossip = GossipService.create({ nodeId: "n1", url: "http://n1:1", send: async () => err("unavailable", "no network"), intervalMs: 50 });
    broker.attachGossip(gossip);
    gossip.start();
    const app = createApp(c, { broker });
    const envelope = encodeGossipEnvelope({ fromId: "n2", fromUrl: "http://n2:1", round: 1, members: [{ id: "n2", url: "http://n2:1", status: "alive", incarnation: 5, queues: { jobs: 2 } }] });
    expect((await app.request("/v1/mesh/gossip", { method: "POST", body: envelope.slice().buffer })).status).toBe(401);
    const res = await app.request("/v1/mesh/gossip", { method: "POST", headers: { ...auth, "content-type": "application/x-protobuf" }, body: envelope.slice().buffer });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-protobuf");
    const reply = decodeGossipEnvelope(new Uint8Array(await res.arrayBuffer()));
    expect(reply.ok && reply.value.fromId).toBe("n1");
    expect((await app.request("/v1/mesh/gossip", { method: "POST", headers: auth, body: new Uint8Array([0xff, 0xff, 0xff]) })).status).toBe(400);
    let listed: { self: string; members: { id: string; queues: Record<string, number> }[] } = { self: "", members: [] };
    for (let i = 0; i < 100 && listed.members.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 10));
      listed = (await (await app.request("/v1/cluster/members", { headers: auth })).json()) as typeof listed;
    }
    expect(listed.self).toBe("n1");
    expect(listed.members.map((m) => m.id).sort()).toEqual(["n1", "n2"]);
    expect(listed.members.find((m) => m.id === "n2")!.queues).toEqual({ jobs: 2 });
    await broker.shutdown({ drainMs: 0 });
  });

  test("inbound full → 429", async () => {
    const c = config();
    const broker = new Broker({ config: c });
    const view: GossipView = {
      receiveBytes: () => err("queue.full", "gossip.inbound is full"),
      members: () => ({ self: "n1", members: [] }),
      peerUrls: () => [],
      leave: async () => ok(),
      stop: async () => ok(),
    };
    broker.attachGossip(view);
    const res = await createApp(c, { broker }).request("/v1/mesh/gossip", { method: "POST", headers: auth, body: new Uint8Array(0) });
    expect(res.status).toBe(429);
    await broker.shutdown({ drainMs: 0 });
  });
});

describe("shutdown and GOAWAY", () => {
  test("the broker leaves first, GOAWAYs name the live peers (late joiners too), gossip stops after the drain", async () => {
    const steps: string[] = [];
    const broker = new Broker({ config: config() });
    broker.attachGossip({
      receiveBytes: () => ok(new Uint8Array(0)),
      members: () => ({ self: "n1", members: [] }),
      peerUrls: () => (steps.push("peers"), ["http://n2:1", "http://n3:1"]),
      leave: async () => void steps.push("leave"),
      stop: async () => void steps.push("stop"),
    });
    const seen: (readonly string[] | undefined)[] = [];
    broker.register({ goAway: (peers) => (steps.push("goaway"), seen.push(peers)), close: () => steps.push("close") });
    await broker.shutdown({ drainMs: 0 });
    expect(steps).toEqual(["peers", "leave", "goaway", "close", "stop"]);
    broker.register({ goAway: (peers) => seen.push(peers), close: () => {} });
    expect(seen).toEqual([["http://n2:1", "http://n3:1"], ["http://n2:1", "http://n3:1"]]);
  });

  test("GOAWAY payload: none without peers (old clients), sluice.v1.GoAway with them; garbage reads as none", () => {
    expect(goawayFrame(0).length).toBe(FRAME_HEADER_BYTES);
    const frame = goawayFrame(0, ["http://n2:1"]);
    expect(goAwayPeers(frame.subarray(FRAME_HEADER_BYTES))).toEqual(["http://n2:1"]);
    expect(encodeGoAwayPayload([]).length).toBe(0);
    expect(goAwayPeers(new Uint8Array([0xff, 0x01]))).toEqual([]);
    expect(goAwayPeers(encodeGoAwayPayload(["javascript:alert(1)", "https://ok:1"]))).toEqual(["https://ok:1"]);
  });

  test("ConnectTarget follows the first named peer that is not the current URL; no peers: no change", () => {
    const target = new ConnectTarget("http://n1:1/");
    expect(target.follow(new Uint8Array(0))).toBeUndefined();
    expect(target.url).toBe("http://n1:1/");
    expect(target.follow(encodeGoAwayPayload(["http://n1:1", "http://n2:1", "http://n3:1"]))).toBe("http://n2:1");
    expect(target.url).toBe("http://n2:1");
    expect(target.follow(encodeGoAwayPayload(["http://n2:1"]))).toBeUndefined();
  });
});
