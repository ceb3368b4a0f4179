/** Severity levels, lowest first. */
export const LogLevel = {
  Debug: "debug",
  Info: "info",
  Warn: "warn",
  Error: "error",
} as const;

/** One of the values of {@linkcode LogLevel}. */
export type LogLevel = typeof LogLevel[keyof typeof LogLevel];

/** Extra structured fields of a log record. */
export type LogFields = Readonly<Record<string, unknown>>;

/** A structured logger: one record per call. */
export interface Logger {
  /** Logs at `debug`. */
  debug(message: string, fields?: LogFields): void;
  /** Logs at `info`. */
  info(message: string, fields?: LogFields): void;
  /** Logs at `warn`. */
  warn(message: string, fields?: LogFields): void;
  /** Logs at `error`. */
  error(message: string, fields?: LogFields): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /**
   * Records below this level are dropped.
   * @default {"info"}
   */
  level?: LogLevel;
  /**
   * Receives each record as one line of JSON, without the newline.
   * @default {writes the line to standard error}
   */
  write?: (line: string) => void;
  /**
   * Fields added to every record, such as the service name.
   * @default {{}}
   */
  fields?: LogFields;
  /**
   * The clock, in milliseconds since the Unix epoch.
   * @default {Date.now}
   */
  now?: () => number;
}

const RANK: Readonly<Record<LogLevel, number>> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
};

/**
 * Creates a logger that writes one JSON object per line, with `time`,
 * `level` and `msg` first and the given fields after them.
 *
 * An `Error` among the fields is written as its name and message, without
 * the stack, so that log lines stay one line and carry no source paths.
 *
 * @param options Level, sink, base fields and clock.
 * @returns A {@linkcode Logger}.
 *
 * @example Log to an array
 * ```ts
 * import { createLogger } from "@vigil/observe/logging";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = createLogger({ write: (line) => lines.push(line), now: () => 0 });
 * log.info("started", { port: 9464 });
 * log.debug("dropped: below the default level");
 * assert.deepEqual(lines.map((line) => JSON.parse(line)), [
 *   { time: "1970-01-01T00:00:00.000Z", level: "info", msg: "started", port: 9464 },
 * ]);
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = RANK[options.level ?? "info"];
  if (threshold === undefined) {
    throw new RangeError(
      `Cannot create logger: unknown level ${JSON.stringify(options.level)}`,
    );
  }
  const write = options.write ?? ((line: string) => console.error(line));
  const base = options.fields ?? {};
  const now = options.now ?? Date.now;
  const log = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[level] < threshold) return;
    const record: Record<string, unknown> = {
      time: new Date(now()).toISOString(),
      level,
      msg,
    };
    for (const [key, value] of Object.entries(base)) record[key] = value;
    if (fields !== undefined) {
      for (const [key, value] of Object.entries(fields)) {
        record[key] = value instanceof Error
          ? { name: value.name, message: value.message }
          : value;
      }
    }
    write(encode(record));
  };
  return {
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
  };
}

// A record whose fields JSON cannot encode (cycles, bigints) is still
// written, without those fields: logging never throws into the caller.
function encode(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record, withoutColours);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify({
      time: record.time,
      level: record.level,
      msg: record.msg,
      logError: `fields could not be encoded: ${error.message}`,
    });
  }
}

// Terminal escape sequences (colours, cursor moves), as some runtime error
// texts carry them, such as a worker's uncaught error: a log line is data
// for a collector, not for a terminal.
// deno-lint-ignore no-control-regex
const ESCAPE = /\x1b\[[0-?]*[ -/]*[@-~]/g;

function withoutColours(_key: string, value: unknown): unknown {
  return typeof value === "string" && value.includes("\x1b")
    ? value.replace(ESCAPE, "")
    : value;
}
