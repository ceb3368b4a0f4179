/**
 * Structured JSON logging for Vigil and the services that embed it.
 *
 * @example Log a record with fields
 * ```ts
 * import { createLogger } from "@vigil/observe/logging";
 *
 * const log = createLogger({ level: "info", fields: { service: "api" } });
 * log.info("ready", { port: 9464 });
 * ```
 *
 * @module
 */
export {
  createLogger,
  type LogFields,
  type Logger,
  type LoggerOptions,
  LogLevel,
} from "../base/log.ts";
