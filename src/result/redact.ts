/**
 * Masking secrets in text meant for logs and error messages.
 *
 * @module
 */

// Query parameters whose values are secrets (matched case-insensitively, anywhere in a URL).
// (A value ends at whitespace, quotes, brackets, "&", "#", "," ";" or ")": what ends a URL in a sentence.)
const SECRET_PARAMS = /([?&](?:access_token|auth_token|token|password|secret|api_key|apikey)=)[^&#\s"'<>,;)]*/gi;
// Userinfo of any scheme://user:pass@host in a text.
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi;

/**
 * `text` with the secrets of every URL in it masked — userinfo (`ws://user:pass@host` →
 * `ws://***@host`) and token-like query parameters (`?token=abc` → `?token=***`, also
 * `access_token`, `auth_token`, `password`, `secret`, `api_key`) — and every literal in
 * `secrets` replaced by `***`. For log lines and error messages that may quote a downstream URL
 * (this file's Relay URLs and the bridge's socket URLs alike).
 *
 * @example
 * ```ts
 * redactSecrets("socket wss://bot:pw@ingest/x?token=abc&q=1 down"); // "socket wss://***@ingest/x?token=***&q=1 down"
 * redactSecrets("got Bearer s3cret", ["s3cret"]);                   // "got Bearer ***"
 * ```
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(USERINFO, "$1***@").replace(SECRET_PARAMS, "$1***");
  for (const secret of secrets) {
    // Short values would mask unrelated text; they are not worth hiding anyway.
    if (secret !== undefined && secret.length >= 4) out = out.split(secret).join("***");
  }
  return out;
}
