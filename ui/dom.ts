/**
 * Small DOM and formatting helpers of the dashboard. Text always goes in through `textContent`
 * (never `innerHTML`), so a payload or an error message cannot inject markup.
 *
 * @example
 * ```ts
 * byId("queues").append(el("tr", {}, el("td", { text: "jobs" })));
 * ```
 *
 * @module
 */
import { bytesFromBase64 } from "../src/protocol/base64.ts";

/**
 * Attributes `el` understands.
 *
 * @example
 * ```ts
 * const attrs: ElAttrs = { class: "num", text: "42", data: { queue: "jobs" } };
 * ```
 */
export interface ElAttrs {
  readonly class?: string;
  readonly text?: string;
  readonly title?: string;
  readonly type?: string;
  readonly data?: Readonly<Record<string, string>>;
}

/**
 * Creates an element with attributes and children.
 *
 * @example
 * ```ts
 * el("button", { class: "danger", text: "Purge", type: "button" });
 * ```
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: ElAttrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (attrs.class !== undefined) node.className = attrs.class;
  if (attrs.text !== undefined) node.textContent = attrs.text;
  if (attrs.title !== undefined) node.title = attrs.title;
  if (attrs.type !== undefined) node.setAttribute("type", attrs.type);
  for (const [key, value] of Object.entries(attrs.data ?? {})) node.dataset[key] = value;
  node.append(...children);
  return node;
}

/**
 * The element with this id (throws if the page lacks it: a build mistake, not a runtime state).
 *
 * @example
 * ```ts
 * const table = byId<HTMLTableElement>("queues");
 * ```
 */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`dashboard: no #${id} in the page`);
  return found as T;
}

/**
 * A rate for a table cell: one decimal below 10/s, whole numbers above.
 *
 * @example
 * ```ts
 * formatRate(3.14159); // "3.1"
 * ```
 */
export function formatRate(perSecond: number): string {
  return perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond).toLocaleString("en-US");
}

/**
 * A time of day, `HH:MM:SS`.
 *
 * @example
 * ```ts
 * formatTime(Date.now()); // "14:03:59"
 * ```
 */
export function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString("en-GB", { hour12: false });
}

/**
 * How long ago `ms` was, roughly ("3 s ago", "5 min ago").
 *
 * @example
 * ```ts
 * formatAgo(Date.now() - 4200); // "4 s ago"
 * ```
 */
export function formatAgo(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

/**
 * A base64 payload as text when it is readable UTF-8, otherwise as `0x…` hex; cut at `max` characters.
 *
 * @example
 * ```ts
 * payloadText("aGVsbG8="); // "hello"
 * ```
 */
export function payloadText(base64: string, max = 120): string {
  const bytes = bytesFromBase64(base64);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    if (/[\u0000-\u0008\u000e-\u001f]/.test(text)) throw new Error("binary");
  } catch {
    text = `0x${[...bytes.subarray(0, max / 2)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
