// The implicit context of log lines: fields every line logged inside a scope
// carries (the request id of the request being served, its user), kept in an
// AsyncLocalStorage that LogTape reads, and the ids of the active
// OpenTelemetry span.
import { AsyncLocalStorage } from "node:async_hooks";
import { trace } from "@opentelemetry/api";

/** Fields of the log context, such as `{ request_id, user_id }`. */
export type LogContext = Record<string, unknown>;

/**
 * The store LogTape's `contextLocalStorage` reads: one mutable object per
 * scope, so {@linkcode setLogContext} adds to the scope it is called in.
 * `configureLogging()` hands it to LogTape; an application that configures
 * LogTape itself passes it as `contextLocalStorage` to get the request ids
 * `instrument()` sets.
 *
 * @example LogTape configured by the application, with Vigil's context
 * ```ts
 * import { configure, getConsoleSink } from "@logtape/logtape";
 * import { logContextStorage } from "@vigil/observe/logging";
 *
 * await configure({
 *   reset: true,
 *   contextLocalStorage: logContextStorage,
 *   sinks: { console: getConsoleSink() },
 *   loggers: [{ category: [], sinks: ["console"], lowestLevel: "info" }],
 * });
 * ```
 */
export const logContextStorage: AsyncLocalStorage<LogContext> =
  new AsyncLocalStorage<LogContext>();

/**
 * Runs `fn` with `fields` added to the log context: every line logged
 * inside it, across `await`s and timers, carries them. Scopes nest: the
 * inner one holds the outer one's fields and its own; concurrent scopes
 * never see each other's.
 *
 * @param fields The fields, such as `{ job: "retrain", model: "fraud" }`.
 * @param fn The work.
 * @returns What `fn` returns.
 *
 * @example A job's lines carry its id
 * ```ts
 * import { getLogger, withLogContext } from "@vigil/observe/logging";
 *
 * await withLogContext({ job_id: "nightly-42" }, async () => {
 *   getLogger("jobs").info("Retraining started");
 * });
 * ```
 */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  const parent = logContextStorage.getStore();
  return logContextStorage.run({ ...parent, ...fields }, fn);
}

/**
 * Adds fields to the current log context, such as the user a handler has
 * just authenticated: the lines logged after it in the same scope (the
 * request being served, or a {@linkcode withLogContext} block) carry them.
 * Outside any scope it does nothing and returns false.
 *
 * @param fields The fields, such as `{ user_id: "u-17" }`.
 * @returns Whether there was a scope to add them to.
 */
export function setLogContext(fields: LogContext): boolean {
  const store = logContextStorage.getStore();
  if (store === undefined) return false;
  Object.assign(store, fields);
  return true;
}

/** The W3C ids of the active span, as log lines and headers carry them. */
export interface TraceIds {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
}

const INVALID_TRACE = "00000000000000000000000000000000";

/**
 * The ids of the active OpenTelemetry span (Deno's own with `OTEL_DENO=true`,
 * or any registered provider's), or undefined outside a span.
 *
 * @returns The trace and span ids, lowercase hex.
 */
export function currentTraceIds(): TraceIds | undefined {
  const span = trace.getActiveSpan();
  if (span === undefined) return undefined;
  const { traceId, spanId } = span.spanContext();
  return traceId === INVALID_TRACE ? undefined : { traceId, spanId };
}
