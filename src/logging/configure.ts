// configureLogging(): LogTape's sinks and loggers set up as the config file's
// `logging` section describes them, for `deno task start` and for programs
// that embed Vigil.
import {
  configure,
  getConfig,
  getLogger as getLogTapeLogger,
  type LogRecord,
  reset,
  type Sink,
} from "@logtape/logtape";
import {
  type CategoryLogger,
  logConfigurationChanged,
  type LogLevel,
  parseLogLevel,
  verbatimLogger,
} from "../base/log.ts";
import { currentTraceIds, logContextStorage } from "./context.ts";
import {
  jsonFormatter,
  maskText,
  maskUrlSecrets,
  prettyFormatter,
  redactSecrets,
} from "./format.ts";
import type { LineQueue } from "./queue.ts";
import { dailyFileSink, stdoutSink } from "./sinks.ts";

/**
 * A log record as sinks get it: LogTape's `LogRecord`, spelled out here so
 * that LogTape's types are not part of Vigil's API. A LogTape `Sink` is a
 * {@linkcode LogSink}.
 */
export interface LogLine {
  /** The logger's category, such as `["vigil", "http"]`. */
  readonly category: readonly string[];
  /** The level. */
  readonly level: LogLevel | "trace";
  /** The message's parts: text, and the values of placeholders. */
  readonly message: readonly unknown[];
  /** The message as the call gave it. */
  readonly rawMessage: string | TemplateStringsArray;
  /** When it was logged, in milliseconds since the Unix epoch. */
  readonly timestamp: number;
  /** The context's fields, then the call's. */
  readonly properties: Record<string, unknown>;
}

/** A receiver of log records, such as a test's or another LogTape sink. */
export type LogSink = (record: LogLine) => void;

/** Rotating files: `app_YYYY-MM-DD.log` and `error_YYYY-MM-DD.log`, by UTC date. */
export interface LogFileOptions {
  /** The directory, created if missing. */
  readonly directory: string;
  /**
   * Days a file is kept after its date.
   * @default {30}
   */
  readonly retentionDays?: number;
}

/** Options of {@linkcode configureLogging}: the config file's `logging` section. */
export interface LoggingOptions {
  /**
   * Lines below this level are not written; `warn` stands for `warning`.
   * @default {"info"}
   */
  readonly level?: LogLevel | "warn";
  /**
   * Levels by category, dotted: `{ "vigil.http": "debug", "app.db": "warning" }`.
   * @default {{}}
   */
  readonly levels?: Readonly<Record<string, LogLevel | "warn">>;
  /**
   * `json`: one JSON object a line. `pretty`: a coloured human format on a
   * terminal (`VIGIL_LOG_FORMAT=pretty` in the server).
   * @default {"json"}
   */
  readonly format?: "json" | "pretty";
  /** Who writes: the `service`, `environment` and `version` of every line. */
  readonly service?: {
    readonly name?: string;
    readonly environment?: string;
    readonly version?: string;
  };
  /**
   * Whether lines go to standard output, what Kubernetes collects.
   * @default {true}
   */
  readonly stdout?: boolean;
  /** Rotating daily files besides (or instead of) standard output. */
  readonly file?: LogFileOptions;
  /**
   * Longest string value written, in UTF-16 code units; longer ones are
   * cut with a marker.
   * @default {8192}
   */
  readonly maxFieldLength?: number;
  /**
   * Lines each sink may have waiting for its writer; past them, lines are
   * dropped and counted (`vigil_log_lines_dropped_total{sink}`).
   * @default {10000}
   */
  readonly queueSize?: number;
  /**
   * Further LogTape sinks, such as a test's, fed the same records (secrets
   * redacted, trace ids added).
   * @default {[]}
   */
  readonly sinks?: readonly LogSink[];
}

/** What one sink lost: its counts since `configureLogging()`. */
export interface SinkStats {
  /** `stdout`, `file` or `error_file`. */
  readonly sink: string;
  /** Lines dropped: the queue was full, or their write failed. */
  readonly dropped: number;
  /** Writes that failed. */
  readonly errors: number;
}

/** What {@linkcode configureLogging} returns. */
export interface LoggingHandle {
  /** Resolves once every line logged before the call is written. */
  flush(): Promise<void>;
  /** Flushes, closes the files and resets LogTape: nothing is written after. */
  close(): Promise<void>;
  /** Each sink's dropped lines and failed writes. */
  stats(): SinkStats[];
}

const DEFAULT_QUEUE = 10_000;

/** LogTape's mark of a sink that is done with a record when it returns. */
const IMMEDIATE = Symbol.for("LogTape.sinkSnapshotPolicy.immediate");

function level(value: unknown, key: string): LogLevel {
  const parsed = parseLogLevel(value);
  if (parsed === undefined) {
    throw new RangeError(
      `Cannot configure logging: ${key} must be one of debug, info, warning (or warn), error, fatal, got ${
        JSON.stringify(value) ?? String(value)
      }`,
    );
  }
  return parsed;
}

function positiveInteger(value: number, key: string): number {
  if (!(Number.isInteger(value) && value >= 1)) {
    throw new RangeError(
      `Cannot configure logging: ${key} must be a positive integer, got ${value}`,
    );
  }
  return value;
}

/** Adds the active span's ids to a record, unless its context has them. */
function withTraceIds(next: Sink): Sink {
  return (record: LogRecord) => {
    const ids = currentTraceIds();
    if (ids === undefined || "trace_id" in record.properties) {
      next(record);
      return;
    }
    next({
      ...record,
      properties: {
        trace_id: ids.traceId,
        span_id: ids.spanId,
        ...record.properties,
      },
    });
  };
}

/** A sink that hands each record to several. */
function fanOut(sinks: readonly Sink[]): Sink {
  if (sinks.length === 1) return sinks[0]!;
  return (record) => {
    for (const sink of sinks) sink(record);
  };
}

/** The setup in force: its sinks, closed when another replaces it. */
let active: { closeSinks(): Promise<void>; handle: LoggingHandle } | undefined;

/** Masks URL credentials in every string of a record, for a sink of the caller's. */
function maskRecord(record: LogRecord): LogRecord {
  const walk = (value: unknown, depth: number): unknown => {
    if (typeof value === "string") return maskText(value);
    if (depth > 20 || value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, walk(item, depth + 1)]),
    );
  };
  return {
    ...record,
    message: record.message.map((part) => walk(part, 0)),
    properties: walk(record.properties, 0) as Record<string, unknown>,
  };
}

/**
 * Sets up LogTape for the whole process: one JSON line per record (or the
 * pretty format) to standard output and, with `file`, to daily files, with
 * secrets redacted, URL credentials masked, the log context's fields
 * (`withLogContext()`, `instrument()`'s `request_id`) and the active span's
 * ids on every line. Writes never wait on the calling path; each sink's
 * queue is bounded and counts what it drops.
 *
 * The configuration is LogTape's until `close()`: calling it again replaces
 * it (the new one is in force before the old sinks close, so no line falls
 * between), and one the application sets with LogTape's `configure()` takes
 * over. An application configuring LogTape itself gets the request ids too
 * by passing `contextLocalStorage: logContextStorage`.
 *
 * @param options The `logging` section's fields.
 * @returns The handle: `flush()`, `close()`, `stats()`.
 * @throws {RangeError} When a level, the queue size or the field length is
 * invalid; the setup in force then stays.
 *
 * @example Log JSON to standard output
 * ```ts
 * import { configureLogging, getLogger } from "@vigil/observe/logging";
 *
 * const logging = await configureLogging({
 *   level: "info",
 *   service: { name: "api", environment: "production", version: "1.4.2" },
 * });
 * getLogger("app").info("Started", { port: 8000 });
 * await logging.close();
 * ```
 */
export async function configureLogging(
  options: LoggingOptions = {},
): Promise<LoggingHandle> {
  // Every option checked before anything opens or closes.
  const lowest = level(options.level ?? "info", "level");
  const queueSize = positiveInteger(
    options.queueSize ?? DEFAULT_QUEUE,
    "queueSize",
  );
  const maxFieldLength = positiveInteger(
    options.maxFieldLength ?? 8192,
    "maxFieldLength",
  );
  const retentionDays = positiveInteger(
    options.file?.retentionDays ?? 30,
    "file.retentionDays",
  );
  const levels = Object.entries(options.levels ?? {}).map((
    [category, value],
  ) => ({
    category: category.split("."),
    lowestLevel: level(value, `levels["${category}"]`),
    // Its own level and the sink, not the root's: a category may be more
    // verbose than the root as well as quieter.
    sinks: ["vigil" as const],
    parentSinks: "override" as const,
  }));
  const formatOptions = {
    service: options.service?.name ?? "vigil",
    environment: options.service?.environment ?? "development",
    version: options.service?.version ?? "unknown",
    maxFieldLength,
  };
  const colors = options.format === "pretty" && Deno.stdout.isTerminal();
  const formatter = maskUrlSecrets(
    options.format === "pretty"
      ? prettyFormatter({ ...formatOptions, colors })
      : jsonFormatter(formatOptions),
  );
  // The queue calls this once per failure episode of a sink. Not through
  // LogTape: a failing sink must not log into itself.
  const onError = (sink: string, error: unknown): void => {
    console.error(
      `Vigil: log sink "${sink}" failed: ${
        error instanceof Error ? error.message : String(error)
      }: its lines are counted as dropped until it recovers`,
    );
  };
  const queues: LineQueue[] = [];
  const closers: (() => PromiseLike<void>)[] = [];
  const sinks: Sink[] = [];
  if (options.stdout ?? true) {
    const sink = stdoutSink({ formatter, capacity: queueSize, onError });
    queues.push(...sink.queues);
    closers.push(() => sink[Symbol.asyncDispose]());
    sinks.push(sink);
  }
  if (options.file !== undefined) {
    const sink = dailyFileSink({
      directory: options.file.directory,
      formatter: maskUrlSecrets(jsonFormatter(formatOptions)),
      capacity: queueSize,
      retentionDays,
      onError,
    });
    queues.push(...sink.queues);
    closers.push(() => sink[Symbol.asyncDispose]());
    sinks.push(sink);
  }
  // The caller's sinks get records, not lines: URLs are masked in them here.
  for (const extra of options.sinks ?? []) {
    sinks.push((record) => extra(maskRecord(record)));
  }
  const vigil = withTraceIds(redactSecrets(fanOut(sinks)));
  // Every sink of ours is done with a record when it returns, so LogTape
  // need not copy its properties first (it does for sinks that may read
  // them later): LogTape's documented snapshot policy, by its symbol.
  Object.defineProperty(vigil, IMMEDIATE, { value: true });
  await configure({
    reset: true,
    contextLocalStorage: logContextStorage,
    sinks: { vigil },
    loggers: [
      { category: [], sinks: ["vigil"], lowestLevel: lowest },
      // LogTape's own warnings, such as a sink that threw: once.
      {
        category: ["logtape", "meta"],
        sinks: ["vigil"],
        parentSinks: "override",
        lowestLevel: "warning",
      },
      ...levels,
    ],
  });
  const config = getConfig();
  const levelOf = (category: readonly string[]): LogLevel => {
    let best = -1;
    let found = lowest;
    for (const entry of levels) {
      const n = entry.category.length;
      if (
        n > best && n <= category.length &&
        entry.category.every((part, i) => category[i] === part)
      ) {
        best = n;
        found = entry.lowestLevel;
      }
    }
    return found;
  };
  logConfigurationChanged({
    sink: vigil,
    context: () => logContextStorage.getStore(),
    levelOf,
    current: () => getConfig() === config,
  });
  const previous = active;
  let closed = false;
  let sinksClosed: Promise<void> | undefined;
  const closeSinks = () =>
    sinksClosed ??= Promise.all(closers.map((close) => close())).then(
      () => {},
    );
  const handle: LoggingHandle = {
    flush: async () => {
      await Promise.all(queues.map((queue) => queue.flush()));
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (active?.handle === handle) {
        active = undefined;
        if (getConfig() === config) await reset();
        logConfigurationChanged();
      }
      await closeSinks();
    },
    stats: () =>
      queues.map((queue) => ({
        sink: queue.name,
        dropped: queue.dropped,
        errors: queue.errors,
      })),
  };
  active = { closeSinks, handle };
  // The old sinks close after the new ones took over: nothing falls between.
  await previous?.closeSinks();
  return handle;
}

/**
 * A logger of any category, for the application's own lines: they go where
 * {@linkcode configureLogging} sends Vigil's, with the same context. The
 * message is written as given (braces are not placeholders): pass variable
 * data as fields.
 *
 * @param category `"app"`, `"app.db"` or `["app", "db"]`.
 * @returns The logger: `debug`, `info`, `warning` (or `warn`), `error`, `fatal`.
 *
 * @example Fields, not interpolation
 * ```ts
 * import { getLogger } from "@vigil/observe/logging";
 *
 * const log = getLogger("app.orders");
 * log.info("Order placed", { order_id: "o-17", total: 42.5 });
 * ```
 */
export function getLogger(
  category: string | readonly string[],
): CategoryLogger {
  const parts = typeof category === "string" ? category.split(".") : category;
  return verbatimLogger(getLogTapeLogger([...parts]));
}
