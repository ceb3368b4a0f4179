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
 * credentials, comparing in constant time.
 *
 * @param request The request.
 * @param auth The credentials; `none` lets everything through.
 * @returns `undefined` when allowed, else the 401 response to send.
 */
export function authorize(
  request: Request,
  auth: AuthConfig,
): Response | undefined {
  if (auth.type === "none") return undefined;
  const header = request.headers.get("authorization") ?? "";
  const expected = auth.type === "bearer"
    ? `Bearer ${auth.token}`
    : `Basic ${btoa(`${auth.username}:${auth.password}`)}`;
  if (constantTimeEqual(header, expected)) return undefined;
  return json({ error: "Unauthorized" }, 401, {
    "www-authenticate": auth.type === "bearer"
      ? 'Bearer realm="vigil"'
      : 'Basic realm="vigil", charset="UTF-8"',
  });
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  let difference = left.length ^ right.length;
  for (let i = 0; i < right.length; i++) {
    difference |= (left[i] ?? 0) ^ right[i]!;
  }
  return difference === 0;
}
