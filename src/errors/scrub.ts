// Scrubbing of Sentry events and breadcrumbs with the logs' rule: the same
// key list (SECRET_FIELDS) and URL masks (URL_SECRET_PATTERNS), imported
// from the logging layer, so a secret hidden in a log line is hidden in an
// error report too.
import type { Breadcrumb, Event, StackFrame } from "@sentry/deno";
import { isSecretKey, maskText, REDACTED } from "../logging/format.ts";

export { maskText };

/** Deeper values are replaced by a marker: Sentry normalises to depth 3. */
const MAX_DEPTH = 32;

/**
 * A copy of a JSON-like value with the values under secret keys replaced by
 * `[REDACTED]` at any depth, and URL secrets masked in every string.
 *
 * @param value The value, such as an event's `extra` or a breadcrumb's `data`.
 * @returns The scrubbed copy (strings, numbers and the like as they are).
 *
 * @example Scrub a password and a header
 * ```ts
 * import assert from "node:assert/strict";
 * import { scrubValue } from "@vigil/observe/errors";
 *
 * assert.deepEqual(
 *   scrubValue({ password: "hunter2", headers: { Authorization: "Bearer x" }, n: 1 }),
 *   { password: "[REDACTED]", headers: { Authorization: "[REDACTED]" }, n: 1 },
 * );
 * ```
 */
export function scrubValue(value: unknown): unknown {
  return scrub(value, 0, new WeakSet());
}

function scrub(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === "string") return maskText(value);
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH || seen.has(value)) return "[Object]";
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((item) => scrub(item, depth + 1, seen));
    }
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] = isSecretKey(key) ? REDACTED : scrub(item, depth + 1, seen);
    }
    return copy;
  } finally {
    seen.delete(value);
  }
}

/**
 * Scrubs an event before Sentry sends it (its `beforeSend`): the request's
 * headers, cookies, data, query and URL, `extra`, `contexts`, `tags`,
 * the user, breadcrumbs, the message, the exception values, and URL
 * secrets in the source lines and variables of stack frames.
 *
 * @param event The event.
 * @returns The scrubbed event (a copy of the parts that may hold secrets).
 *
 * @example An Authorization header never leaves
 * ```ts
 * import assert from "node:assert/strict";
 * import { scrubEvent } from "./scrub.ts";
 *
 * const event = scrubEvent({ request: { headers: { Authorization: "Bearer s3cret" } } });
 * assert.equal(event.request?.headers?.Authorization, "[REDACTED]");
 * ```
 */
export function scrubEvent<T extends Event>(event: T): T {
  const copy: T = { ...event };
  if (copy.request !== undefined) {
    const request = scrubValue(copy.request) as NonNullable<T["request"]>;
    // Cookies are all secrets; a query string may come without its `?`.
    if (request.cookies !== undefined) delete request.cookies;
    if (typeof request.query_string === "string") {
      request.query_string = maskText(`?${request.query_string}`).slice(1);
    }
    copy.request = request;
  }
  for (const key of ["extra", "contexts", "tags", "user", "message"] as const) {
    if (copy[key] !== undefined) {
      (copy as Record<string, unknown>)[key] = scrubValue(copy[key]);
    }
  }
  if (copy.logentry !== undefined) {
    copy.logentry = scrubValue(copy.logentry) as NonNullable<T["logentry"]>;
  }
  if (copy.breadcrumbs !== undefined) {
    copy.breadcrumbs = copy.breadcrumbs.map(scrubBreadcrumb);
  }
  // A transaction's spans: their attributes (url.query, headers) and names.
  if (copy.spans !== undefined) {
    copy.spans = scrubValue(copy.spans) as NonNullable<T["spans"]>;
  }
  if (typeof copy.transaction === "string") {
    copy.transaction = maskText(copy.transaction);
  }
  if (copy.exception?.values !== undefined) {
    copy.exception = {
      ...copy.exception,
      values: copy.exception.values.map((exception) => ({
        ...exception,
        ...(exception.value === undefined
          ? {}
          : { value: maskText(exception.value) }),
        ...(exception.stacktrace?.frames === undefined ? {} : {
          stacktrace: {
            ...exception.stacktrace,
            frames: exception.stacktrace.frames.map(scrubFrame),
          },
        }),
      })),
    };
  }
  return copy;
}

/** A frame's source lines (from Sentry's context lines) and variables. */
function scrubFrame(frame: StackFrame): StackFrame {
  const copy: StackFrame = { ...frame };
  if (copy.context_line !== undefined) {
    copy.context_line = maskText(copy.context_line);
  }
  if (copy.pre_context !== undefined) {
    copy.pre_context = copy.pre_context.map(maskText);
  }
  if (copy.post_context !== undefined) {
    copy.post_context = copy.post_context.map(maskText);
  }
  if (copy.vars !== undefined) {
    copy.vars = scrubValue(copy.vars) as Record<string, unknown>;
  }
  return copy;
}

/**
 * Scrubs a breadcrumb before Sentry keeps it (its `beforeBreadcrumb`): its
 * `data` and `message`.
 *
 * @param breadcrumb The breadcrumb.
 * @returns The scrubbed copy.
 *
 * @example A token in a fetch breadcrumb's URL is masked
 * ```ts
 * import assert from "node:assert/strict";
 * import { scrubBreadcrumb } from "./scrub.ts";
 *
 * const crumb = scrubBreadcrumb({ category: "fetch", data: { url: "https://x/?token=abc" } });
 * assert.equal(crumb.data?.url, "https://x/?token=[REDACTED]");
 * ```
 */
export function scrubBreadcrumb(breadcrumb: Breadcrumb): Breadcrumb {
  const copy: Breadcrumb = { ...breadcrumb };
  if (copy.message !== undefined) copy.message = maskText(copy.message);
  if (copy.data !== undefined) {
    copy.data = scrubValue(copy.data) as Record<string, unknown>;
  }
  return copy;
}
