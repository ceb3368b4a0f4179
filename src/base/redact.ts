/**
 * The one rule for what counts as a secret and how it is hidden, used by
 * `/system/info`, health-check output and logs alike.
 */

/** A key names a secret when, lower-cased, it contains one of these. */
export const SECRET_KEY_PARTS: readonly string[] = Object.freeze([
  "password",
  "passwd",
  "secret",
  "token",
  "key",
  "auth",
  "credential",
  "signature",
  "session",
  "cookie",
  "dsn",
]);

/** What a secret value is shown as. */
export const MASK = "***";

/**
 * Whether a key (a query parameter, a header, a log field) names a secret:
 * `api_key`, `X-Api-Key`, `access_token`, `password`, `sessionId` do.
 *
 * @param key The key.
 * @returns Whether its value must be masked.
 *
 * @example Tell secrets from other keys
 * ```ts
 * import { isSecretKey } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isSecretKey("api_key"), true);
 * assert.equal(isSecretKey("Authorization"), true);
 * assert.equal(isSecretKey("page"), false);
 * ```
 */
export function isSecretKey(key: string): boolean {
  const lower = key.toLowerCase();
  return SECRET_KEY_PARTS.some((part) => lower.includes(part));
}

const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^@/?#\s]*@/i;
const QUERY_PAIR = /([?&;])([^=&#;\s]*)=([^&#;\s]*)/g;
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>()]+/gi;

/**
 * Masks the secrets of a URL as written, without re-serializing it: the
 * user and password (`https://***@host/`), and the values of query
 * parameters whose names {@linkcode isSecretKey} flags (`?api_key=***`).
 *
 * @param url The URL, absolute or not.
 * @returns The URL with its secrets masked.
 *
 * @example Mask a token and a password
 * ```ts
 * import { redactUrl } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   redactUrl("https://user:pw@api.example.com/health?api_key=abc&region=eu"),
 *   "https://***@api.example.com/health?api_key=***&region=eu",
 * );
 * ```
 */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, `$1${MASK}@`).replace(
    QUERY_PAIR,
    (pair, separator: string, key: string, value: string) =>
      value !== "" && isSecretKey(decodeKey(key))
        ? `${separator}${key}=${MASK}`
        : pair,
  );
}

/**
 * Masks the secrets of every URL in a text, such as an error message that
 * quotes the URL it failed to fetch.
 *
 * @param text The text.
 * @returns The text with each URL passed through {@linkcode redactUrl}.
 *
 * @example Mask a URL inside an error message
 * ```ts
 * import { redactText } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   redactText("error sending request for url (http://db:8080/?token=s3cret): refused"),
 *   "error sending request for url (http://db:8080/?token=***): refused",
 * );
 * ```
 */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, redactUrl);
}

function decodeKey(key: string): string {
  try {
    return decodeURIComponent(key.replaceAll("+", " "));
  } catch (error) {
    if (!(error instanceof URIError)) throw error;
    return key;
  }
}
