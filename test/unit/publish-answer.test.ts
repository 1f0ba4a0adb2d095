// One publish-answer rule for WebSocket and HTTP duplex (issue 13): canceled and queue.closed
// both mean "not enqueued, going away" (GOAWAY) on both paths.
import { describe, expect, test } from "../harness.ts";
import { err, ok } from "../../src/result/mod.ts";
import { publishOutcome } from "../../src/transport/publish-answer.ts";

describe("publishOutcome", () => {
  test("one rule for both publish paths", () => {
    expect(publishOutcome(ok({ sequenceId: 1 }))).toBe("receipt");
    expect(publishOutcome(err("queue.closed", "closed"))).toBe("goaway");
    expect(publishOutcome(err("canceled", "stream closed"))).toBe("goaway");
    expect(publishOutcome(err("queue.full", "full"))).toBe("full");
    expect(publishOutcome(err("unavailable", "disk full"))).toBe("error");
    expect(publishOutcome(err("frame.too_large", "big"))).toBe("error");
  });
});
