/**
 * LogTape sinks that format on the calling thread and write through a
 * {@linkcode LineQueue}: standard output, and daily files by UTC date.
 *
 * Why not `getTimeRotatingFileSink()` from `@logtape/file` (2.3.10,
 * `dist/timefilesink.js`): it picks the file by `new Date()` at flush time,
 * in local time, so lines written before midnight but flushed after land in
 * the next day's file, and there is no UTC and no clock to inject for tests;
 * its non-blocking buffer is unbounded; and it swallows write errors
 * (`catch {}`) with no count, so a full disk or a removed directory goes
 * unnoticed. {@linkcode dailyFileSink} takes the date from each record's own
 * timestamp (UTC), bounds the queue, counts dropped lines and failed writes,
 * reports a failure once, and reopens its file when the directory or the
 * file was removed, so logging resumes when the disk recovers.
 *
 * @module
 */
import type { LogRecord, Sink } from "@logtape/logtape";
import { join } from "node:path";
import { LineQueue } from "./queue.ts";

const DAY_MS = 86_400_000;
const FILE_NAME = /^(app|error)_(\d{4})-(\d{2})-(\d{2})\.log$/;

/**
 * A LogTape sink backed by line queues: calling it formats the record and
 * queues the line without waiting. It is drainable (LogTape's `drain()`
 * waits for it) and async-disposable (disposal closes its queues).
 */
export interface QueuedSink extends AsyncDisposable {
  /**
   * Formats the record and queues its line.
   *
   * @param record The record to write.
   */
  (record: LogRecord): void;
  /** The sink's name: `stdout` or `file`. */
  readonly name: string;
  /** Its queues, whose `name`, `dropped` and `errors` feed the metrics. */
  readonly queues: readonly LineQueue[];
  /**
   * Waits until every line queued before the call was written or failed.
   *
   * @returns A promise that never rejects.
   */
  flush(): Promise<void>;
  /**
   * The same as {@linkcode QueuedSink.flush}, under the name LogTape's
   * `Drainable` gives it.
   *
   * @returns A promise that never rejects.
   */
  drain(): Promise<void>;
}

/** Options of {@linkcode stdoutSink}. */
export interface StdoutSinkOptions {
  /** Turns a record into one line, with its line ending. */
  readonly formatter: (record: LogRecord) => string;
  /** The most lines waiting (`logging.queueSize`). */
  readonly capacity: number;
  /**
   * Writes one batch.
   *
   * @default {writing to `Deno.stdout` until every byte is written}
   */
  readonly write?: (chunk: Uint8Array) => Promise<void>;
  /**
   * Called once per failure episode with the sink label (`stdout`).
   *
   * @default {undefined}
   */
  readonly onError?: (name: string, error: unknown) => void;
}

/** Options of {@linkcode dailyFileSink}. */
export interface DailyFileSinkOptions {
  /** The directory of the files, created (recursively) if missing. */
  readonly directory: string;
  /** Turns a record into one line, with its line ending. */
  readonly formatter: (record: LogRecord) => string;
  /** The most lines waiting in each of the two queues (`logging.queueSize`). */
  readonly capacity: number;
  /**
   * When a new date's file is opened, `app_` and `error_` files dated more
   * than this many days before that date (or before today by `now`, if
   * earlier) are removed.
   */
  readonly retentionDays: number;
  /**
   * Called once per failure episode with the sink label (`file` or
   * `error_file`).
   *
   * @default {undefined}
   */
  readonly onError?: (name: string, error: unknown) => void;
  /**
   * The clock for retention (milliseconds since the epoch): it caps the
   * reference date. File dates come from the records' timestamps.
   *
   * @default {Date.now}
   */
  readonly now?: () => number;
}

/**
 * A sink writing to standard output through a bounded queue, the default
 * sink (what Kubernetes collects).
 *
 * @example Write records through a custom writer
 * ```ts
 * import assert from "node:assert/strict";
 * import { stdoutSink } from "./sinks.ts";
 *
 * const out: string[] = [];
 * const sink = stdoutSink({
 *   formatter: (record) => `${record.level} ${record.message.join("")}\n`,
 *   capacity: 1000,
 *   write: (chunk) => {
 *     out.push(new TextDecoder().decode(chunk));
 *     return Promise.resolve();
 *   },
 * });
 * sink({
 *   category: ["app"],
 *   level: "info",
 *   message: ["ready"],
 *   rawMessage: "ready",
 *   timestamp: 0,
 *   properties: {},
 * });
 * await sink[Symbol.asyncDispose]();
 * assert.equal(out.join(""), "info ready\n");
 * ```
 *
 * @param options The formatter, capacity, writer and error callback.
 * @returns The sink, with its queue, `flush()` and async disposal.
 * @throws {RangeError} When the capacity is not a positive integer.
 */
export function stdoutSink(options: StdoutSinkOptions): QueuedSink {
  const { formatter } = options;
  const queue = new LineQueue({
    name: "stdout",
    capacity: options.capacity,
    write: options.write ?? ((chunk) => writeAll(Deno.stdout, chunk)),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
  const sink: Sink = (record) => {
    queue.push(formatter(record));
  };
  return queuedSink(sink, "stdout", [queue], () => {});
}

/**
 * A sink writing every record to `app_YYYY-MM-DD.log` and records of level
 * `error` and `fatal` also to `error_YYYY-MM-DD.log`, the date being the UTC
 * date of the record's timestamp. Files are opened for appending; older ones
 * are removed by `retentionDays`.
 *
 * @example Write a record to the day's files
 * ```ts
 * import assert from "node:assert/strict";
 * import { dailyFileSink } from "./sinks.ts";
 *
 * const directory = await Deno.makeTempDir();
 * const sink = dailyFileSink({
 *   directory,
 *   formatter: (record) => `${record.level} ${record.message.join("")}\n`,
 *   capacity: 1000,
 *   retentionDays: 30,
 * });
 * sink({
 *   category: ["app"],
 *   level: "error",
 *   message: ["failed"],
 *   rawMessage: "failed",
 *   timestamp: Date.UTC(2025, 0, 31, 23, 59, 59),
 *   properties: {},
 * });
 * await sink[Symbol.asyncDispose]();
 * const app = await Deno.readTextFile(`${directory}/app_2025-01-31.log`);
 * const error = await Deno.readTextFile(`${directory}/error_2025-01-31.log`);
 * assert.equal(app, "error failed\n");
 * assert.equal(error, "error failed\n");
 * await Deno.remove(directory, { recursive: true });
 * ```
 *
 * @param options The directory, formatter, capacity, retention, error callback and clock.
 * @returns The sink, with its queues (`file`, `error_file`), `flush()` and async disposal.
 * @throws {RangeError} When the capacity or `retentionDays` is not a positive integer.
 */
export function dailyFileSink(options: DailyFileSinkOptions): QueuedSink {
  const { directory, formatter, retentionDays } = options;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new RangeError(
      `Cannot create daily file sink in "${directory}": retentionDays must be a positive integer: ${retentionDays}`,
    );
  }
  const onError = options.onError === undefined
    ? {}
    : { onError: options.onError };
  // Both queues share one retention pass per day. Its failure is reported
  // but does not fail the batch, whose lines were written. The clock caps
  // the reference day, so a record stamped years ahead (a skewed clock)
  // cannot remove the files of the present.
  let cleanedDay = -Infinity;
  const removeOld = async (name: string, day: number): Promise<void> => {
    const reference = Math.min(day, Math.floor(now() / DAY_MS));
    if (reference <= cleanedDay) return;
    cleanedDay = reference;
    try {
      await removeOlderThan(directory, reference - retentionDays);
    } catch (error) {
      options.onError?.(name, error);
    }
  };
  const app = new DayFile(directory, "app", (day) => removeOld("file", day));
  const error = new DayFile(
    directory,
    "error",
    (day) => removeOld("error_file", day),
  );
  const appQueue = new LineQueue({
    name: "file",
    capacity: options.capacity,
    write: (chunk, day) => app.write(chunk, day),
    ...onError,
  });
  const errorQueue = new LineQueue({
    name: "error_file",
    capacity: options.capacity,
    write: (chunk, day) => error.write(chunk, day),
    ...onError,
  });
  const sink: Sink = (record) => {
    const line = formatter(record);
    const timestamp = Number.isFinite(record.timestamp)
      ? record.timestamp
      : now();
    const day = Math.floor(timestamp / DAY_MS);
    appQueue.push(line, day);
    if (record.level === "error" || record.level === "fatal") {
      errorQueue.push(line, day);
    }
  };
  return queuedSink(sink, "file", [appQueue, errorQueue], () => {
    app.close();
    error.close();
  });
}

function queuedSink(
  sink: Sink,
  name: string,
  queues: readonly LineQueue[],
  release: () => void,
): QueuedSink {
  const flush = async (): Promise<void> => {
    await Promise.all(queues.map((queue) => queue.flush()));
  };
  // A function's own `name` is read-only: define it rather than assign it.
  Object.defineProperty(sink, "name", { value: name });
  return Object.assign(sink as Sink & { readonly name: string }, {
    queues,
    flush,
    drain: flush,
    [Symbol.asyncDispose]: async (): Promise<void> => {
      await Promise.all(queues.map((queue) => queue.close()));
      release();
    },
  });
}

async function writeAll(
  writer: { write(p: Uint8Array): Promise<number> },
  chunk: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    written += await writer.write(chunk.subarray(written));
  }
}

/** `YYYY-MM-DD` of a UTC day number. */
function dateOf(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The UTC day number of an `app_` or `error_` file name, or `undefined`. */
function dayOf(name: string): number | undefined {
  const match = FILE_NAME.exec(name);
  if (match === null) return undefined;
  const [, , year, month, date] = match;
  const time = Date.UTC(Number(year), Number(month) - 1, Number(date));
  // Date.UTC rolls over (2025-02-30 is March 2nd): such a name is not ours.
  if (dateOf(time / DAY_MS) !== name.slice(name.indexOf("_") + 1, -4)) {
    return undefined;
  }
  return time / DAY_MS;
}

async function removeOlderThan(
  directory: string,
  oldest: number,
): Promise<void> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(directory)) {
    if (entry.isFile) names.push(entry.name);
  }
  for (const name of names) {
    const day = dayOf(name);
    if (day === undefined || day >= oldest) continue;
    try {
      await Deno.remove(join(directory, name));
    } catch (error) {
      // The other queue's pass, or an operator, removed it first.
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

/** The open file of one prefix (`app` or `error`), reopened by day and when removed. */
class DayFile {
  readonly #directory: string;
  readonly #prefix: string;
  readonly #onNewDay: (day: number) => Promise<void>;
  #file: Deno.FsFile | undefined;
  #path = "";
  #day = NaN;
  #ino: number | null = null;

  constructor(
    directory: string,
    prefix: string,
    onNewDay: (day: number) => Promise<void>,
  ) {
    this.#directory = directory;
    this.#prefix = prefix;
    this.#onNewDay = onNewDay;
  }

  async write(chunk: Uint8Array, day: number): Promise<void> {
    const newDay = day !== this.#day;
    const file = await this.#open(day);
    await writeAll(file, chunk);
    if (newDay) await this.#onNewDay(day);
  }

  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }

  async #open(day: number): Promise<Deno.FsFile> {
    if (this.#file !== undefined && day === this.#day) {
      // On Linux a write to the fd of a removed file succeeds and is lost.
      if (await this.#stillThere()) return this.#file;
    }
    this.close();
    const path = join(this.#directory, `${this.#prefix}_${dateOf(day)}.log`);
    await Deno.mkdir(this.#directory, { recursive: true });
    const file = await Deno.open(path, { append: true, create: true });
    try {
      this.#ino = (await file.stat()).ino;
    } catch (error) {
      file.close();
      throw error;
    }
    this.#file = file;
    this.#path = path;
    this.#day = day;
    return file;
  }

  async #stillThere(): Promise<boolean> {
    try {
      const info = await Deno.stat(this.#path);
      return this.#ino === null || info.ino === this.#ino;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }
}
