/**
 * The dashboard page's entry (bundled to `/ui/app.js`): asks for a token when the server wants
 * one, follows the stats feed (a streaming `fetch` with an `Authorization` header, reconnecting
 * after a drop), and keeps the queue table, the charts, the poison panel and the cluster panel
 * up to date. Everything goes through the SDK's `AdminClient`, i.e. the public HTTP API.
 *
 * @example
 * ```ts
 * // <script type="module" src="/ui/app.js"></script> — runs on load
 * ```
 *
 * @module
 */
import { AdminClient } from "../src/client/admin.ts";
import type { SluiceError } from "../src/result/errors.ts";
import { QueueCharts } from "./charts.ts";
import { ClusterView } from "./cluster-view.ts";
import { byId } from "./dom.ts";
import { StatsHistory } from "./history.ts";
import { PoisonView } from "./poison-view.ts";
import { QueuesView } from "./queues-view.ts";
import { TokenStore } from "./token.ts";

const FEED_INTERVAL_MS = 1000;
const CLUSTER_INTERVAL_MS = 5000;
const RETRY_MS = 2000;

const tokens = new TokenStore(sessionStorageOrNothing());
const url = location.origin;
let admin = new AdminClient({ url, token: tokens.get() });
const history = new StatsHistory();
let selected: string | undefined = new URLSearchParams(location.hash.slice(1)).get("queue") ?? undefined;
let charts: QueueCharts | undefined;
let running: AbortController | undefined;
let poisonSeen = "";

const queuesView = new QueuesView(byId<HTMLTableElement>("queues"), select);
const poison = new PoisonView(() => admin, onError);
const cluster = new ClusterView(() => admin, onError);

byId<HTMLFormElement>("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>("token");
  tokens.set(input.value, { remember: byId<HTMLInputElement>("remember").checked });
  input.value = "";
  void start();
});
byId("sign-out").addEventListener("click", () => {
  tokens.clear();
  showLogin("");
});

void start();

/** Checks the token with one call, then shows the dashboard and starts the feed and the polls. */
async function start(): Promise<void> {
  running?.abort();
  admin = new AdminClient({ url, token: tokens.get() });
  const probe = await admin.queues();
  if (!probe.ok) {
    if (probe.error.code === "unauthorized") return showLogin(tokens.get() ? "The server refused this token." : "");
    notice(`Cannot load queues: ${probe.error.message}; retrying…`);
    setTimeout(() => void start(), RETRY_MS);
    return;
  }
  notice("");
  byId("login").hidden = true;
  byId("main").hidden = false;
  byId("sign-out").hidden = tokens.get() === undefined;
  const health = await admin.health();
  byId("server").textContent = `${location.host}${health.ok ? ` · v${health.value.version}` : ""}`;
  charts ??= new QueueCharts(byId("chart-depth"), byId("chart-rates"));
  const run = new AbortController();
  running = run;
  void followFeed(run.signal);
  void pollCluster(run.signal);
}

async function followFeed(signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    for await (const sample of admin.statsFeed({ intervalMs: FEED_INTERVAL_MS, signal })) {
      if (!sample.ok) {
        feedState(`feed: ${sample.error.message}`, "bad");
        if (sample.error.code === "unauthorized") return onError(sample.error);
        break;
      }
      feedState(`live · ${new Date(sample.value.at).toLocaleTimeString("en-GB", { hour12: false })}`, "ok");
      const rates = history.push(sample.value);
      const names = sample.value.queues.map((q) => q.queue);
      if (selected === undefined || !names.includes(selected)) selected = names[0];
      queuesView.render(sample.value.queues, rates, selected);
      if (selected === undefined) continue;
      byId("chart-queue").textContent = selected;
      charts?.show(history.series(selected));
      const mine = sample.value.queues.find((q) => q.queue === selected)!;
      const seen = `${selected}:${mine.poisoned}:${mine.poisonedTotal}`;
      if (seen !== poisonSeen) {
        poisonSeen = seen;
        void poison.load(selected);
      }
    }
    if (!(await pause(RETRY_MS, signal))) return;
  }
}

async function pollCluster(signal: AbortSignal): Promise<void> {
  do await cluster.refresh();
  while (await pause(CLUSTER_INTERVAL_MS, signal));
}

function select(queue: string): void {
  selected = queue;
  poisonSeen = "";
  history.series(queue);
  location.hash = `queue=${encodeURIComponent(queue)}`;
  byId("chart-queue").textContent = queue;
  charts?.show(history.series(queue));
  for (const row of byId<HTMLTableElement>("queues").tBodies[0]!.rows) row.classList.toggle("selected", row.dataset.queue === queue);
  void poison.load(queue);
}

function onError(error: SluiceError): void {
  if (error.code === "unauthorized") showLogin("The server refused the token.");
  else notice(error.message);
}

function showLogin(message: string): void {
  running?.abort();
  running = undefined;
  byId("main").hidden = true;
  byId("login").hidden = false;
  byId("sign-out").hidden = true;
  byId("login-error").textContent = message;
  feedState("signed out", "");
  byId<HTMLInputElement>("token").focus();
}

function notice(text: string): void {
  const box = byId("notice");
  box.textContent = text;
  box.hidden = text === "";
}

function feedState(text: string, tone: string): void {
  const pill = byId("feed-state");
  pill.textContent = text;
  pill.className = `pill ${tone}`;
}

/** Waits `ms`; false when `signal` aborted meanwhile. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => resolve(true), ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve(false)), { once: true });
  });
}

function sessionStorageOrNothing(): Storage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}
