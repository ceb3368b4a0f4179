/**
 * Structured logs on LogTape: one JSON object a line with the service,
 * the request and trace ids of the work being done, secrets redacted, to
 * standard output and daily files, never blocking the caller.
 *
 * Vigil logs under the category `vigil` and writes nothing until
 * {@linkcode configureLogging} (or the application's own LogTape
 * `configure()`) sets up sinks.
 *
 * @example Configure, log with context, close
 * ```ts
 * import { configureLogging, getLogger, withLogContext } from "@vigil/observe/logging";
 *
 * const logging = await configureLogging({ service: { name: "api" } });
 * await withLogContext({ job_id: "nightly" }, async () => {
 *   getLogger("jobs").info("Started", { items: 120 });
 * });
 * await logging.close();
 * ```
 *
 * @module
 */
export {
  type CategoryLogger,
  createLogger,
  LOG_LEVELS,
  type LogFields,
  type Logger,
  type LogLevel,
  parseLogLevel,
} from "../base/log.ts";
export {
  configureLogging,
  getLogger,
  type LogFileOptions,
  type LoggingHandle,
  type LoggingOptions,
  type LogLine,
  type LogSink,
  type SinkStats,
} from "./configure.ts";
export {
  currentTraceIds,
  type LogContext,
  logContextStorage,
  setLogContext,
  type TraceIds,
  withLogContext,
} from "./context.ts";
export { registerLoggingMetrics } from "./metrics.ts";
export { LOG_FIELDS, REDACTED } from "./format.ts";
