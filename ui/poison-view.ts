/**
 * The poison panel of the selected queue: each entry with its payload, last error, exhausted
 * budget, attempts, when it was poisoned and its failure history, with Replay and Purge buttons
 * (one entry, or all).
 *
 * @example
 * ```ts
 * const poison = new PoisonView(() => admin, () => refreshSoon());
 * await poison.load("jobs");
 * ```
 *
 * @module
 */
import type { AdminClient, PoisonSelection } from "../src/client/admin.ts";
import type { PoisonEntryView } from "../src/client/admin-types.ts";
import type { SluiceError } from "../src/result/errors.ts";
import { byId, el, formatAgo, formatTime, payloadText } from "./dom.ts";

/**
 * Loads and renders one queue's poison entries; its buttons replay or purge them.
 *
 * @example
 * ```ts
 * new PoisonView(() => admin, onAuthLost).load("jobs");
 * ```
 */
export class PoisonView {
  readonly #admin: () => AdminClient;
  readonly #onError: (error: SluiceError) => void;
  readonly #body = byId<HTMLTableElement>("poison").tBodies[0]!;
  #queue: string | undefined;
  #loading: Promise<void> | undefined;
  #again = false;

  constructor(admin: () => AdminClient, onError: (error: SluiceError) => void) {
    this.#admin = admin;
    this.#onError = onError;
    byId("replay-all").addEventListener("click", () => this.#act("replay", "all"));
    byId("purge-all").addEventListener("click", () => {
      if (globalThis.confirm(`Drop every poisoned message of ${this.#queue} for good?`)) void this.#act("purge", "all");
    });
    this.#body.addEventListener("click", (event) => {
      const button = (event.target as HTMLElement).closest("button");
      const seq = Number(button?.closest("tr")?.dataset.seq);
      if (button === null || !Number.isSafeInteger(seq)) return;
      void this.#act(button.classList.contains("purge") ? "purge" : "replay", [seq]);
    });
  }

  /** Shows `queue`'s entries (one load at a time; a call during a load loads again after it). */
  load(queue: string): Promise<void> {
    if (queue !== this.#queue) {
      this.#body.replaceChildren();
      byId("poison-status").textContent = "";
    }
    this.#queue = queue;
    byId("poison-queue").textContent = queue;
    if (this.#loading !== undefined) {
      this.#again = true;
      return this.#loading;
    }
    this.#loading = this.#fetch().finally(() => {
      this.#loading = undefined;
      if (this.#again) {
        this.#again = false;
        void this.load(this.#queue!);
      }
    });
    return this.#loading;
  }

  async #fetch(): Promise<void> {
    const queue = this.#queue!;
    const listed = await this.#admin().poison(queue);
    if (queue !== this.#queue) return;
    if (!listed.ok) return this.#onError(listed.error);
    const { entries } = listed.value;
    byId("poison-count").textContent = String(entries.length);
    byId("poison-empty").hidden = entries.length > 0;
    byId("poison").hidden = entries.length === 0;
    for (const id of ["replay-all", "purge-all"]) byId<HTMLButtonElement>(id).disabled = entries.length === 0;
    this.#body.replaceChildren(...entries.map(row));
  }

  async #act(action: "replay" | "purge", which: PoisonSelection): Promise<void> {
    const queue = this.#queue;
    if (queue === undefined) return;
    const status = byId("poison-status");
    const done = action === "replay" ? await this.#admin().replay(queue, which) : await this.#admin().purge(queue, which);
    if (!done.ok) {
      status.textContent = `${action} failed: ${done.error.message}`;
      return this.#onError(done.error);
    }
    status.textContent = `${action === "replay" ? "Replayed" : "Purged"} ${done.value} at ${formatTime(Date.now())}`;
    await this.load(queue);
  }
}

function row(entry: PoisonEntryView): HTMLTableRowElement {
  const history = el(
    "details",
    {},
    el("summary", { text: `${entry.history.length} failure${entry.history.length === 1 ? "" : "s"}` }),
    el("ol", {}, ...entry.history.map((a) => el("li", {}, `#${a.attempt} `, el("code", { text: a.code }), ` ${a.message} `, el("span", { class: "muted", text: formatTime(a.at) })))),
  );
  return el(
    "tr",
    { data: { seq: String(entry.sequenceId) } },
    el("td", { class: "num", text: String(entry.sequenceId) }),
    el("td", { class: "payload", text: payloadText(entry.payload) }),
    el("td", {}, el("code", { text: entry.lastError.code }), " ", entry.lastError.message),
    el("td", {}, el("span", { class: "pill bad", text: entry.exhausted })),
    el("td", { class: "num", text: String(entry.attempts) }),
    el("td", { title: new Date(entry.poisonedAt).toISOString(), text: formatAgo(entry.poisonedAt) }),
    el("td", {}, history),
    el("td", { class: "row-actions" }, el("button", { class: "replay", type: "button", text: "Replay" }), " ", el("button", { class: "purge danger", type: "button", text: "Purge" })),
  );
}
