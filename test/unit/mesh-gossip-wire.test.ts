// The gossip wire formats of issue #16: sluice.v1.GossipEnvelope (the body of
// POST /v1/mesh/gossip, both ways) and sluice.v1.GoAway (a draining node's peer list).
import { describe, expect, test } from "../harness.ts";
import { decodeGoAway, decodeGossipEnvelope, encodeGoAway, encodeGossipEnvelope, memberRecord } from "../../src/mesh/gossip/mod.ts";
import { create, toBinary } from "@bufbuild/protobuf";
import { GossipEnvelopeSchema, MemberSchema } from "../../src/gen/sluice/v1/gossip_pb.ts";

const url = (id: string) => `http://${id}:8787`;

describe("gossip wire", () => {
  test("envelopes round-trip with statuses, incarnations beyond 2^32, queue depths and the round", () => {
    const members = [
      memberRecord({ id: "a", url: url("a"), status: "alive", incarnation: 1_795_000_000_000, queues: { jobs: 12, mail: 0 } }),
      memberRecord({ id: "b", url: url("b"), status: "suspect", incarnation: 2 }),
      memberRecord({ id: "c", url: url("c"), status: "dead", incarnation: 3 }),
      memberRecord({ id: "d", url: url("d"), status: "left", incarnation: 4 }),
    ];
    const back = decodeGossipEnvelope(encodeGossipEnvelope({ fromId: "a", fromUrl: url("a"), round: 99, members }));
    expect(back.value).toEqual({ fromId: "a", fromUrl: url("a"), round: 99, members });
    const noRound = decodeGossipEnvelope(encodeGossipEnvelope({ fromId: "a", fromUrl: url("a"), members }));
    expect(noRound.value!.round).toBeUndefined();
    expect(decodeGossipEnvelope(encodeGossipEnvelope({ fromId: "", fromUrl: url("a"), members })).error?.code).toBe("validation");
  });

  test("a peer's bad envelope is a validation error, never a throw: unknown status, ids beyond 2^53, missing fields", () => {
    const member = (fields: Record<string, unknown>) => create(MemberSchema, { id: "a", url: url("a"), status: 1, incarnation: 1n, ...fields });
    const bytes = (members: ReturnType<typeof member>[], from = "a") => toBinary(GossipEnvelopeSchema, create(GossipEnvelopeSchema, { fromId: from, fromUrl: url(from), members }));
    expect(decodeGossipEnvelope(bytes([member({})])).ok).toBe(true);
    expect(decodeGossipEnvelope(bytes([member({ status: 0 })])).error?.code).toBe("validation");
    expect(decodeGossipEnvelope(bytes([member({ status: 9 })])).error?.code).toBe("validation");
    expect(decodeGossipEnvelope(bytes([member({ incarnation: 2n ** 60n })])).error?.code).toBe("validation");
    expect(decodeGossipEnvelope(bytes([member({ queues: { jobs: 2n ** 60n } })])).error?.code).toBe("validation");
    expect(decodeGossipEnvelope(bytes([member({ id: "" })])).error?.code).toBe("validation");
    expect(decodeGossipEnvelope(bytes([member({})], "")).error?.code).toBe("validation");
    expect(decodeGossipEnvelope(new Uint8Array([0x0a, 0xff, 0x01])).error?.code).toBe("validation");
  });

  test("GoAway carries peer urls", () => {
    expect(decodeGoAway(encodeGoAway([url("b"), url("c")])).value).toEqual([url("b"), url("c")]);
    expect(decodeGoAway(new Uint8Array()).value).toEqual([]);
    expect(decodeGoAway(new Uint8Array([0x0a, 0xff])).error?.code).toBe("validation");
  });
});

