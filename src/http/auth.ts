// Credentials for the protected routes.
import { json } from "./handlers.ts";

/** Who may read `/metrics`, `/health/detailed` and `/system/info`. */
export type AuthConfig =
  | { readonly type: "none" }
  | { readonly type: "bearer"; readonly token: string }
  | {
    readonly type: "basic";
    readonly username: string;
    readonly password: string;
  };

/**
 * Checks a request's `Authorization` header against the configured
 * credentials. The scheme (`Bearer`, `Basic`) matches in any case, as
 * RFC 7235 says, and spaces before the credentials are skipped. The
 * credentials are compared as UTF-8 bytes, in time that depends only on the
 * configured credentials: a bearer token byte for byte, basic credentials
 * as the base64-decoded `user:password`. A header that is missing, of the
 * other scheme, or not valid base64 gets the 401 too.
 *
 * @param request The request.
 * @param auth The credentials; `none` lets everything through.
 * @returns `undefined` when allowed, else the 401 response to send.
 *
 * @example Let a non-ASCII basic password through
 * ```ts
 * import { authorize } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * const auth = { type: "basic", username: "ops", password: "pässword" } as const;
 * // Browsers and curl send the UTF-8 bytes of "ops:pässword", base64-encoded.
 * const utf8 = new TextEncoder().encode("ops:pässword");
 * const credentials = btoa(String.fromCharCode(...utf8));
 * const allowed = new Request("http://localhost/metrics", {
 *   headers: { authorization: `basic ${credentials}` },
 * });
 * assert.equal(authorize(allowed, auth), undefined);
 * const refused = authorize(new Request("http://localhost/metrics"), auth);
 * assert.equal(refused?.status, 401);
 * await refused?.body?.cancel();
 * ```
 */
export function authorize(
  request: Request,
  auth: AuthConfig,
): Response | undefined {
  if (auth.type === "none") return undefined;
  const header = request.headers.get("authorization");
  if (header !== null && accepted(header, auth)) return undefined;
  return json({ error: "Unauthorized" }, 401, {
    "www-authenticate": auth.type === "bearer"
      ? 'Bearer realm="vigil"'
      : 'Basic realm="vigil", charset="UTF-8"',
  });
}

function accepted(
  header: string,
  auth: Exclude<AuthConfig, { type: "none" }>,
): boolean {
  const space = header.indexOf(" ");
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  if (scheme !== auth.type) return false;
  const credentials = header.slice(space + 1).replace(/^[ \t]+/, "");
  const encoder = new TextEncoder();
  if (auth.type === "bearer") {
    return constantTimeEqual(
      headerBytes(credentials),
      encoder.encode(auth.token),
    );
  }
  let decoded: string;
  try {
    decoded = atob(credentials);
  } catch (error) {
    // atob() throws an InvalidCharacterError for anything but base64.
    if (!(error instanceof DOMException)) throw error;
    return false;
  }
  return constantTimeEqual(
    headerBytes(decoded),
    encoder.encode(`${auth.username}:${auth.password}`),
  );
}

/**
 * The bytes of a header value or of what `atob()` returns: one character
 * per byte, as Deno hands header bytes over (a UTF-8 "é" arrives as "Ã©").
 */
function headerBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Compares in time that depends on the expected length only. */
function constantTimeEqual(given: Uint8Array, expected: Uint8Array): boolean {
  let difference = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    difference |= (given[i] ?? 0) ^ expected[i]!;
  }
  return difference === 0;
}
