/**
 * The queue table: one row per queue with depth, in flight, poison depth, rates and backpressure;
 * a click selects the queue the charts and the poison panel show.
 *
 * @example
 * ```ts
 * const table = new QueuesView(byId("queues"), (queue) => select(queue));
 * table.render(sample.queues, rates, "jobs");
 * ```
 *
 * @module
 */
import type { QueueRates, QueueStatsView } from "../src/client/admin-types.ts";
import { el, formatRate } from "./dom.ts";

/**
 * Renders the queue table.
 *
 * @example
 * ```ts
 * new QueuesView(table, console.log).render([], new Map(), undefined);
 * ```
 */
export class QueuesView {
  readonly #body: HTMLTableSectionElement;

  constructor(table: HTMLTableElement, onSelect: (queue: string) => void) {
    this.#body = table.tBodies[0]!;
    this.#body.addEventListener("click", (event) => {
      const row = (event.target as HTMLElement).closest("tr");
      const queue = row?.dataset.queue;
      if (queue !== undefined) onSelect(queue);
    });
  }

  /** Replaces the rows with `queues`, marking `selected`. */
  render(queues: readonly QueueStatsView[], rates: ReadonlyMap<string, QueueRates>, selected: string | undefined): void {
    const rows = queues.map((q) => {
      const rate = rates.get(q.queue) ?? { enqueued: 0, acked: 0, failed: 0, poisoned: 0 };
      const row = el(
        "tr",
        { data: { queue: q.queue }, class: q.queue === selected ? "selected" : "" },
        el("td", {}, el("strong", { text: q.queue }), q.removed ? el("span", { class: "pill warn", text: " removed" }) : ""),
        el("td", { class: "num depth", text: String(q.pending) }),
        el("td", { class: "num inflight", text: String(q.active) }),
        el("td", { class: `num poison` }, el("span", { class: q.poisoned > 0 ? "pill bad" : "pill", text: String(q.poisoned) })),
        el("td", { class: "num", text: formatRate(rate.enqueued) }),
        el("td", { class: "num", text: formatRate(rate.acked) }),
        el("td", { class: "num", text: formatRate(rate.failed) }),
        el("td", {}, el("span", { class: q.backpressure ? "pill warn" : "pill ok", text: q.backpressure ? "on" : "off" })),
      );
      return row;
    });
    this.#body.replaceChildren(...rows);
  }
}
