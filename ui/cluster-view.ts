/**
 * The cluster panel: members (gossip), leaders per scope, and the applied control-config version
 * (also shown in the header). A route the server does not serve (404) shows "not available".
 *
 * @example
 * ```ts
 * await new ClusterView(() => admin, onError).refresh();
 * ```
 *
 * @module
 */
import type { AdminClient } from "../src/client/admin.ts";
import type { ClusterLeader, ClusterMembers } from "../src/client/admin-types.ts";
import type { SluiceError } from "../src/result/errors.ts";
import type { Result } from "../src/result/result.ts";
import { byId, el, formatAgo, formatTime } from "./dom.ts";

/**
 * Loads and renders members, leaders and the config version.
 *
 * @example
 * ```ts
 * setInterval(() => cluster.refresh(), 5000);
 * ```
 */
export class ClusterView {
  readonly #admin: () => AdminClient;
  readonly #onError: (error: SluiceError) => void;

  constructor(admin: () => AdminClient, onError: (error: SluiceError) => void) {
    this.#admin = admin;
    this.#onError = onError;
  }

  /** Fetches the three views at once and renders them. */
  async refresh(): Promise<void> {
    const [members, leaders, config] = await Promise.all([this.#admin().members(), this.#admin().leaders(), this.#admin().config()]);
    this.#show("members", members, renderMembers);
    this.#show("leaders", leaders, renderLeaders);
    this.#show("config", config, (view) => [
      el("p", {}, "Version ", el("strong", { text: String(view.version) }), " ", el("span", { class: view.status === "applied" ? "pill ok" : "pill warn", text: view.status })),
      el("p", { class: "muted", text: `${Object.keys((view.config.queues as object | undefined) ?? {}).length} queue(s) in the document` }),
    ]);
    byId("config-version").textContent = config.ok ? `config: v${config.value.version} ${config.value.status}` : `config: ${unavailable(config.error) || config.error.code === "unavailable" ? "not available" : "error"}`;
  }

  #show<T>(id: string, got: Result<T>, render: (value: T) => Node[]): void {
    const host = byId(id);
    if (got.ok) {
      host.className = "";
      host.replaceChildren(...render(got.value));
      return;
    }
    if (got.error.code === "unauthorized") return this.#onError(got.error);
    host.className = unavailable(got.error) || got.error.code === "unavailable" ? "muted" : "error";
    host.textContent = unavailable(got.error) ? "not available (this server does not serve it)" : `not available: ${got.error.message}`;
  }
}

function unavailable(error: SluiceError): boolean {
  return error.metadata?.missingRoute === true || (error.code === "not_found" && error.metadata?.status === 404);
}

function renderMembers(view: ClusterMembers): Node[] {
  if (view.members.length === 0) return [el("p", { class: "muted", text: "no members" })];
  const rows = view.members.map((m) =>
    el(
      "tr",
      {},
      el("td", { class: "nowrap" }, el("strong", { text: m.id }), m.id === view.self ? el("span", { class: "muted", text: " (this node)" }) : ""),
      el("td", {}, el("span", { class: `pill ${m.status === "alive" ? "ok" : m.status === "suspect" ? "warn" : "bad"}`, text: m.status })),
      el("td", { class: "num", text: String(m.incarnation) }),
      el("td", { text: formatAgo(m.lastSeenAtMs) }),
      el("td", { class: "payload", text: Object.entries(m.queues ?? {}).map(([q, n]) => `${q}=${n}`).join(" ") }),
    )
  );
  return [table(["Node", "Status", "Inc.", "Seen", "Queues"], rows)];
}

function renderLeaders(scopes: ClusterLeader[]): Node[] {
  if (scopes.length === 0) return [el("p", { class: "muted", text: "no leadership scopes (no bridged queue)" })];
  const rows = scopes.map((s) =>
    el(
      "tr",
      {},
      el("td", {}, el("code", { text: s.scope })),
      el("td", { class: "nowrap", text: s.leader ?? "nobody" }),
      el("td", { class: "num", text: String(s.term) }),
      el("td", { text: s.expiresAtMs === null ? "—" : formatTime(s.expiresAtMs) }),
    )
  );
  return [table(["Scope", "Leader", "Term", "Lease until"], rows)];
}

function table(headings: string[], rows: HTMLTableRowElement[]): HTMLTableElement {
  return el("table", {}, el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", { text: h })))), el("tbody", {}, ...rows));
}
