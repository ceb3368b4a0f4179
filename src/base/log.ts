// Vigil's loggers, on LogTape: every layer logs through this small
// interface; the lines go wherever the application (or `deno task start`)
// configured LogTape's sinks, and nowhere before that.
import {
  getLogger as getLogTapeLogger,
  type Logger as LogTapeLogger,
} from "@logtape/logtape";

/** The levels of log lines, lowest first: LogTape's. */
export const LOG_LEVELS = [
  "debug",
  "info",
  "warning",
  "error",
  "fatal",
] as const;

/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/**
 * A level as configuration spells it: one of {@linkcode LOG_LEVELS}, or
 * `warn` for `warning`.
 *
 * @param value The name.
 * @returns The level, or undefined when the name is none.
 */
export function parseLogLevel(value: unknown): LogLevel | undefined {
  if (value === "warn") return "warning";
  return (LOG_LEVELS as readonly unknown[]).includes(value)
    ? value as LogLevel
    : undefined;
}

/** Extra structured fields of a log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * A structured logger: one line per call, its message written as given and
 * its fields after the context's. What Vigil's `logger` options take; a
 * LogTape `Logger` fits too (but reads `{braces}` in messages as
 * placeholders).
 */
export interface Logger {
  /** Logs at `debug`. */
  debug(message: string, fields?: LogFields): void;
  /** Logs at `info`. */
  info(message: string, fields?: LogFields): void;
  /** Logs at `warning`. */
  warn(message: string, fields?: LogFields): void;
  /** Logs at `error`. */
  error(message: string, fields?: LogFields): void;
}

/** A {@linkcode Logger} with LogTape's level names too, as `getLogger()` returns it. */
export interface CategoryLogger extends Logger {
  /** The category, such as `["vigil", "http"]`. */
  readonly category: readonly string[];
  /** Logs at `warning`, as {@linkcode Logger.warn}. */
  warning(message: string, fields?: LogFields): void;
  /** Logs at `fatal`. */
  fatal(message: string, fields?: LogFields): void;
}

/**
 * LogTape reads `{name}` in a message as a placeholder; doubled braces are
 * literal. Messages are text here: variable data goes in the fields.
 */
function verbatim(message: string): string {
  return message.includes("{") || message.includes("}")
    ? message.replace(/[{}]/g, "$&$&")
    : message;
}

/**
 * Bumped each time `configureLogging()` sets up (or closes) LogTape: while
 * it stays the same, which levels of a category are written stays the same,
 * so a logger remembers it.
 */
let generation = 0;

/** A record as LogTape's sinks take it. */
export interface DirectRecord {
  readonly category: readonly string[];
  readonly level: "debug" | "info" | "warning" | "error" | "fatal";
  readonly message: readonly unknown[];
  readonly rawMessage: string;
  readonly timestamp: number;
  readonly properties: Record<string, unknown>;
}

/** Where Vigil's loggers hand their records, and the context they merge. */
interface Direct {
  readonly sink: (record: DirectRecord) => void;
  readonly context: () => Record<string, unknown> | undefined;
  /** The lowest level written for a category, as the configuration says. */
  readonly levelOf: (category: readonly string[]) => LogLevel;
  /** Whether LogTape still runs this configuration (nobody replaced it). */
  readonly current: () => boolean;
}

let direct: Direct | undefined;

/**
 * Tells Vigil's loggers that LogTape's configuration changed. With
 * `target`, set up by `configureLogging()`, they hand their records to its
 * sink themselves, past LogTape's dispatcher: every category goes to that
 * one sink there, and LogTape's dispatch (its context storage read twice,
 * a record built with getters, its properties copied) is most of a line's
 * cost. Levels are still LogTape's, read through `isEnabledFor()`.
 */
export function logConfigurationChanged(target?: Direct): void {
  generation++;
  direct = target;
}

const LEVEL_INDEX = { debug: 0, info: 1, warning: 2, error: 3, fatal: 4 };

/**
 * Wraps a LogTape logger so that messages are written verbatim. While the
 * configuration `configureLogging()` made is LogTape's, a call of a level
 * not written costs a comparison (LogTape's own check reads its context
 * storage twice, about 150 ns): the category's level is kept until the
 * configuration changes.
 */
export function verbatimLogger(logger: LogTapeLogger): CategoryLogger {
  const category = logger.category;
  let seen = -1;
  let lowest = 0;
  const log = (
    level: "debug" | "info" | "warning" | "error" | "fatal",
  ) => {
    const index = LEVEL_INDEX[level];
    return (message: string, fields?: LogFields): void => {
      // LogTape configured otherwise (by the application, or in a scope):
      // LogTape decides, and dispatches.
      if (direct === undefined || !direct.current()) {
        logger[level](verbatim(message), fields as Record<string, unknown>);
        return;
      }
      if (seen !== generation) {
        seen = generation;
        lowest = LEVEL_INDEX[direct.levelOf(category)];
      }
      if (index < lowest) return;
      const context = direct.context();
      try {
        direct.sink({
          category,
          level,
          message: [message],
          rawMessage: message,
          timestamp: Date.now(),
          properties: context === undefined
            ? { ...fields }
            : { ...context, ...fields },
        });
      } catch (error) {
        // As LogTape does with a sink that throws: never into the caller.
        reportError(error);
      }
    };
  };
  const warning = log("warning");
  return {
    category: logger.category,
    debug: log("debug"),
    info: log("info"),
    warn: warning,
    warning,
    error: log("error"),
    fatal: log("fatal"),
  };
}

/**
 * Vigil's own logger for a part of it: category `["vigil", ...category]`.
 * It writes nothing until LogTape is configured (`configureLogging()`, or
 * the application's own `configure()`), as a library should.
 *
 * @param category The part, such as `"http"` or `["aggregation", "pool"]`.
 * @returns The logger.
 *
 * @example Vigil's lines go where LogTape sends them
 * ```ts
 * import { createLogger } from "@vigil/observe/logging";
 *
 * const log = createLogger("jobs");
 * log.info("Nothing is written: LogTape is not configured yet", { event: "jobs.idle" });
 * ```
 */
export function createLogger(
  category: string | readonly string[] = [],
): CategoryLogger {
  const parts = typeof category === "string" ? [category] : category;
  return verbatimLogger(getLogTapeLogger(["vigil", ...parts]));
}
