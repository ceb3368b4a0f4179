/**
 * A bounded, non-blocking line queue that a background loop writes in
 * batches: the calling thread formats a line and pushes it in O(1), and never
 * waits on the disk or the terminal.
 *
 * LogTape's own non-blocking modes do not fit Vigil's rules. The file sinks of
 * `@logtape/file` buffer without bound, flush on a `setInterval` timer (which
 * keeps an idle process alive) and swallow write errors (`catch {}`) without
 * a count. `getStreamSink(stream, { nonBlocking })` bounds its buffer but
 * drops the oldest record with an O(n) `shift()`, also flushes on a timer,
 * and writes one record at a time. `fromAsyncSink({ maxQueueSize })` awaits
 * the sink once per record too. This queue is bounded, O(1) per push, joins
 * lines into one write per batch, counts what it drops and what fails,
 * reports a failure once until the sink recovers, and starts its loop from a
 * push, so it holds no timer.
 *
 * @module
 */

/** The most UTF-16 code units joined into one write: about 64 KiB of ASCII. */
const BATCH_CHARS = 64 * 1024;

/** Options of {@linkcode LineQueue}. */
export interface LineQueueOptions {
  /** The sink label in metrics and reports: `stdout`, `file`, `error_file`. */
  readonly name: string;
  /**
   * The most lines waiting to be written (`logging.queueSize`); a line pushed
   * past it is dropped and counted.
   */
  readonly capacity: number;
  /**
   * Writes one batch: lines joined and encoded as UTF-8. It may throw or
   * reject; the batch is then dropped and counted, and the next batch tries
   * again.
   *
   * @param chunk The batch's bytes.
   * @param group The group its lines were pushed with (see
   * {@linkcode LineQueue.push}); a batch never mixes groups.
   */
  readonly write: (chunk: Uint8Array, group: number) => Promise<void>;
  /**
   * Called once per failure episode: on the first failed write after the
   * start or after a successful write, not for every failed batch. An
   * exception it throws is passed to `reportError()` and the loop goes on.
   *
   * @default {undefined}
   */
  readonly onError?: (name: string, error: unknown) => void;
}

interface Waiter {
  readonly target: number;
  readonly resolve: () => void;
}

/**
 * A bounded FIFO of text lines with an asynchronous writer loop.
 *
 * @example Push lines and wait for them to be written
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineQueue } from "./queue.ts";
 *
 * const chunks: string[] = [];
 * const queue = new LineQueue({
 *   name: "memory",
 *   capacity: 100,
 *   write: (chunk) => {
 *     chunks.push(new TextDecoder().decode(chunk));
 *     return Promise.resolve();
 *   },
 * });
 * queue.push("a\n");
 * queue.push("b\n");
 * await queue.close();
 * assert.equal(chunks.join(""), "a\nb\n");
 * assert.equal(queue.push("c\n"), false);
 * assert.equal(queue.dropped, 1);
 * ```
 */
export class LineQueue {
  /** The sink label: `stdout`, `file` or `error_file`. */
  readonly name: string;
  readonly #capacity: number;
  readonly #write: (chunk: Uint8Array, group: number) => Promise<void>;
  readonly #onError: ((name: string, error: unknown) => void) | undefined;
  readonly #encoder = new TextEncoder();
  // Waiting lines are #lines[#head..]; the writer advances #head, so push
  // and take are O(1) amortized.
  #lines: string[] = [];
  #groups: number[] = [];
  #head = 0;
  #accepted = 0;
  #settled = 0;
  #dropped = 0;
  #errors = 0;
  #running = false;
  #failing = false;
  #closed = false;
  #waiters: Waiter[] = [];

  /**
   * Creates a queue; nothing runs until the first push.
   *
   * @param options The name, capacity, writer and error callback.
   * @throws {RangeError} When the capacity is not a positive integer.
   */
  constructor(options: LineQueueOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(
        `Cannot create line queue "${options.name}": capacity must be a positive integer: ${options.capacity}`,
      );
    }
    this.name = options.name;
    this.#capacity = options.capacity;
    this.#write = options.write;
    this.#onError = options.onError;
  }

  /** Lines dropped since creation: the queue was full or closed, or their write failed. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Failed writes (batches) since creation. */
  get errors(): number {
    return this.#errors;
  }

  /**
   * Queues a line without waiting; the writer loop starts on a microtask if
   * it is idle.
   *
   * @param line The text, with its own line ending.
   * @param group A batch holds lines of one group only, and `write` gets it
   * (the file sink passes the UTC day number).
   * @returns `false` when the line was dropped: the queue is full or closed.
   */
  push(line: string, group = 0): boolean {
    if (this.#closed || this.#lines.length - this.#head >= this.#capacity) {
      this.#dropped++;
      return false;
    }
    this.#lines.push(line);
    this.#groups.push(group);
    this.#accepted++;
    if (!this.#running) {
      this.#running = true;
      queueMicrotask(() => void this.#run());
    }
    return true;
  }

  /**
   * Waits until every line pushed before the call was written or failed.
   *
   * @returns A promise that never rejects.
   */
  flush(): Promise<void> {
    const target = this.#accepted;
    if (this.#settled >= target) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ target, resolve }));
  }

  /**
   * Flushes, then refuses further lines. Lines pushed while the flush runs
   * are written too.
   *
   * @returns A promise that resolves when every accepted line was written or failed.
   */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.flush();
  }

  async #run(): Promise<void> {
    while (this.#head < this.#lines.length) {
      const group = this.#groups[this.#head] as number;
      const start = this.#head;
      let end = start;
      let chars = 0;
      while (
        end < this.#lines.length && this.#groups[end] === group &&
        (end === start || chars < BATCH_CHARS)
      ) {
        chars += (this.#lines[end] as string).length;
        end++;
      }
      const text = end - start === 1
        ? this.#lines[start] as string
        : this.#lines.slice(start, end).join("");
      this.#take(end);
      const count = end - start;
      try {
        await this.#write(this.#encoder.encode(text), group);
        this.#failing = false;
      } catch (error) {
        this.#errors++;
        this.#dropped += count;
        if (!this.#failing) {
          this.#failing = true;
          this.#report(error);
        }
      }
      this.#settle(count);
    }
    this.#running = false;
  }

  #take(end: number): void {
    if (end === this.#lines.length) {
      this.#lines = [];
      this.#groups = [];
      this.#head = 0;
    } else if (end >= 4096 && end * 2 >= this.#lines.length) {
      this.#lines = this.#lines.slice(end);
      this.#groups = this.#groups.slice(end);
      this.#head = 0;
    } else {
      // Release the strings now; the slots go at the next compaction.
      this.#lines.fill("", this.#head, end);
      this.#head = end;
    }
  }

  #settle(count: number): void {
    this.#settled += count;
    let done = 0;
    while (
      done < this.#waiters.length &&
      (this.#waiters[done] as Waiter).target <= this.#settled
    ) {
      (this.#waiters[done] as Waiter).resolve();
      done++;
    }
    if (done > 0) this.#waiters.splice(0, done);
  }

  #report(error: unknown): void {
    if (this.#onError === undefined) return;
    try {
      this.#onError(this.name, error);
    } catch (thrown) {
      // A broken callback must not stop the writer; surface it like a
      // throwing event listener.
      reportError(thrown);
    }
  }
}
