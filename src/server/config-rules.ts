/**
 * The value rules of Sluice's configuration (what each key must be) and how a broken value is
 * reported: `checkRule` names the key, what was expected and what it got (secrets masked).
 * config-schema.ts says which key has which rule; config.ts applies them.
 *
 * @example
 * ```ts
 * checkRule({ kind: "int", min: 1 }, -5, "queues.jobs.leaseMs");
 * // "config: queues.jobs.leaseMs must be a positive integer (got -5)"
 * checkRule({ kind: "natsUrl" }, "http://x", "natsUrl");
 * // "config: natsUrl must be a NATS server URL such as \"nats://127.0.0.1:4222\" ... (got \"http://x\")"
 * ```
 */
import { redactSecrets } from "../result/redact.ts";

/**
 * What a config value must be. `int` covers every count and duration (milliseconds); `natsUrl`
 * is one or more comma-separated `nats://` / `tls://` server URLs (src/runtime/nats.ts reads them).
 *
 * @example
 * ```ts
 * const rule: Rule = { kind: "int", min: 1 };
 * ```
 */
export type Rule =
  | { readonly kind: "int"; readonly min: number; readonly max?: number }
  | { readonly kind: "string" }
  | { readonly kind: "enum"; readonly values: readonly string[] }
  | { readonly kind: "tokens" }
  | { readonly kind: "origins" }
  | { readonly kind: "url"; readonly protocols: readonly string[] }
  | { readonly kind: "natsUrl" };


/**
 * Checks `value` against `rule`; returns a problem message naming `path`, or undefined when valid.
 *
 * @example
 * ```ts
 * checkRule({ kind: "int", min: 1 }, 0, "capacity"); // "config: capacity must be a positive integer (got 0)"
 * ```
 */
export function checkRule(rule: Rule, value: unknown, path: string): string | undefined {
  const valid = isValid(rule, value);
  // Tokens are secrets: say what is wrong, never what they are.
  const got = rule.kind === "tokens" ? (Array.isArray(value) ? `${value.length} value(s), not shown` : typeof value) : show(value);
  return valid ? undefined : `config: ${path} must be ${describeRule(rule)} (got ${got})`;
}

function isValid(rule: Rule, value: unknown): boolean {
  switch (rule.kind) {
    case "int":
      return Number.isSafeInteger(value) && (value as number) >= rule.min && (rule.max === undefined || (value as number) <= rule.max);
    case "string":
      return typeof value === "string" && value.trim() !== "";
    case "enum":
      return typeof value === "string" && rule.values.includes(value);
    case "tokens":
      // Tokens travel in headers and in a comma-separated env var: no whitespace, no commas.
      return Array.isArray(value) && value.every((t) => typeof t === "string" && /^[^\s,]+$/.test(t));
    case "origins":
      // Compared byte for byte with the browser's Origin header: scheme://host[:port], nothing more.
      return Array.isArray(value) && value.every((o) => o === "*" || (typeof o === "string" && URL.canParse(o) && new URL(o).origin === o));
    case "url":
      return typeof value === "string" && URL.canParse(value) && rule.protocols.includes(new URL(value).protocol);
    case "natsUrl":
      return typeof value === "string" && isNatsUrl(value);
  }
}

// What connectNats (src/runtime/nats.ts) accepts: nats:// or tls:// URLs (a bare host:port is
// taken as nats://), each with a host, separated by commas.
function isNatsUrl(text: string): boolean {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === "")) return false;
  return parts.every((part) => {
    const full = part.includes("://") ? part : `nats://${part}`;
    if (!URL.canParse(full)) return false;
    const u = new URL(full);
    return (u.protocol === "nats:" || u.protocol === "tls:") && u.hostname !== "" && (u.pathname === "" || u.pathname === "/");
  });
}

function describeRule(rule: Rule): string {
  switch (rule.kind) {
    case "int":
      if (rule.max !== undefined) return `an integer from ${rule.min} to ${rule.max}`;
      return rule.min === 1 ? "a positive integer" : rule.min === 0 ? "a non-negative integer" : `an integer >= ${rule.min}`;
    case "string":
      return "a non-empty string";
    case "enum":
      return `one of ${rule.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "tokens":
      return "an array of non-empty strings without whitespace or commas";
    case "origins":
      return 'an array of origins such as "https://app.example.com" (scheme://host[:port], lower case, no path or trailing slash) or "*"';
    case "url":
      return `a ${rule.protocols.map((p) => p.slice(0, -1)).join("/")} URL`;
    case "natsUrl":
      return 'a NATS server URL such as "nats://127.0.0.1:4222" (nats:// or tls://, optionally user:pass@ or token@; several separated by commas)';
  }
}

/**
 * Renders a config value for an error message, shortened so a huge blob cannot flood a log.
 *
 * @example
 * ```ts
 * show("abc"); // "\"abc\""
 * ```
 */
export function show(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  // A rejected value may be a URL with credentials or a token: error messages reach logs.
  text = redactSecrets(text);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
