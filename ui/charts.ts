/**
 * The two time charts of the selected queue, drawn with uPlot (bundled into the page, no CDN):
 * depth / in flight / poison depth, and enqueued / acked / failed per second.
 *
 * @example
 * ```ts
 * const charts = new QueueCharts(byId("chart-depth"), byId("chart-rates"));
 * charts.show(history.series("jobs"));
 * ```
 *
 * @module
 */
import uPlot from "uplot";
import type { QueueSeries } from "./history.ts";

const HEIGHT = 220;

/**
 * Both charts, resized with the window.
 *
 * @example
 * ```ts
 * charts.show(history.series(selected));
 * ```
 */
export class QueueCharts {
  readonly #depth: uPlot;
  readonly #rates: uPlot;

  constructor(depthHost: HTMLElement, ratesHost: HTMLElement) {
    this.#depth = chart(depthHost, "Messages", [
      { label: "Depth", stroke: "#2563eb", width: 2 },
      { label: "In flight", stroke: "#16a34a", width: 2 },
      { label: "Poison", stroke: "#dc2626", width: 2 },
    ]);
    this.#rates = chart(ratesHost, "Per second", [
      { label: "Enqueued/s", stroke: "#7c3aed", width: 2 },
      { label: "Acked/s", stroke: "#0891b2", width: 2 },
      { label: "Failed/s", stroke: "#d97706", width: 2 },
    ]);
    const resize = () => {
      for (const [plot, host] of [[this.#depth, depthHost], [this.#rates, ratesHost]] as const) {
        plot.setSize({ width: widthOf(host), height: HEIGHT });
      }
    };
    globalThis.addEventListener("resize", resize);
  }

  /** Draws `series` (the selected queue's history). */
  show(series: QueueSeries): void {
    this.#depth.setData(series.depth);
    this.#rates.setData(series.rates);
  }
}

function chart(host: HTMLElement, yLabel: string, series: uPlot.Series[]): uPlot {
  const options: uPlot.Options = {
    width: widthOf(host),
    height: HEIGHT,
    series: [{}, ...series],
    axes: [{}, { label: yLabel, size: 60 }],
    scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
    legend: { live: true },
  };
  return new uPlot(options, [[], [], [], []], host);
}

function widthOf(host: HTMLElement): number {
  return Math.max(320, host.clientWidth || 480);
}
