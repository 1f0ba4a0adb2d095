/**
 * Where the dashboard keeps the bearer token: in memory, and in `sessionStorage` (this tab only,
 * gone when it closes) when the user asks. Never in a URL, a cookie or `localStorage`.
 *
 * @example
 * ```ts
 * const tokens = new TokenStore(sessionStorage);
 * tokens.set("s3cret", { remember: true });
 * tokens.get(); // "s3cret"
 * ```
 *
 * @module
 */

const KEY = "sluice.token";

/**
 * The token of this tab.
 *
 * @example
 * ```ts
 * new TokenStore(sessionStorage).clear();
 * ```
 */
export class TokenStore {
  readonly #storage: Storage | undefined;
  #token: string | undefined;

  constructor(storage: Storage | undefined) {
    this.#storage = storage;
    try {
      this.#token = storage?.getItem(KEY) ?? undefined;
    } catch {
      this.#token = undefined; // storage refused (privacy settings): memory only
    }
  }

  /** The token, if one was entered. */
  get(): string | undefined {
    return this.#token;
  }

  /** Keeps `token` in memory, and in sessionStorage when `remember`. */
  set(token: string, options: { remember: boolean }): void {
    this.#token = token;
    try {
      if (options.remember) this.#storage?.setItem(KEY, token);
      else this.#storage?.removeItem(KEY);
    } catch {
      // memory only
    }
  }

  /** Forgets the token everywhere. */
  clear(): void {
    this.#token = undefined;
    try {
      this.#storage?.removeItem(KEY);
    } catch {
      // nothing kept
    }
  }
}
