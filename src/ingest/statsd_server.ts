/**
 * The StatsD/DogStatsD listener: UDP (`node:dgram`) and newline-delimited
 * TCP (`Deno.listen`) on one port, recording every line into a
 * {@linkcode Registry} through bound series.
 *
 * What a line becomes (statsd_exporter is the reference; where Vigil
 * differs, it says so):
 *
 * - **Names.** Without a mapping rule, invalid characters are sanitised as
 *   statsd_exporter's `EscapeMetricName` does (`.`, `-` runs and any other
 *   character outside `[a-zA-Z0-9_]` become `_`, a leading digit gets a
 *   `_` prefix); counters get `_total` and timers become `<name>_seconds`
 *   histograms (Vigil's naming; statsd_exporter keeps the bare name). A
 *   name still invalid after that (empty, or starting with `__`) is
 *   rejected as `bad_name`; so is a line whose labels the registry refuses
 *   (a tag named like one of the registry's default labels). Tag keys are
 *   sanitised the same way; a tag that stays invalid (`le`, `quantile`,
 *   `__x`, empty) is dropped and the line kept, as statsd_exporter does.
 * - **Types.** `c` adds `value / rate`; `g` sets, or adds when signed
 *   (`+3`, `-3`: the StatsD spec's delta; the rate is ignored, as
 *   statsd_exporter); `ms` observes `value / 1000` seconds; `h` and `d`
 *   observe the value as sent; each into a histogram, or a summary when
 *   the matching rule or `observer` says so. An observation sent with
 *   `@rate` is recorded `floor(1 / rate)` times, as statsd_exporter's line
 *   parser does (`@0.1` → 10 copies; `@0.3` → 3); a rate below 1/1000 is
 *   rejected as `sample_rate_too_low` rather than recording thousands of
 *   copies per line. `s` (sets, which statsd_exporter lacks) is a gauge
 *   `<name>` holding the number of distinct members seen in the last
 *   `setWindowSeconds` (a sliding window, updated on each line and at each
 *   scrape); a series keeps at most 10 000 members, and a new member past
 *   that is rejected as `too_many_members`.
 * - **Families.** A metric is created on the first line of its name, with
 *   the sorted label names of that line. A later line of the same name with
 *   another type (counter `x` vs gauge `x`, or histogram `x` vs summary `x`,
 *   or a name that collides with another StatsD metric's `_bucket`, `_sum`,
 *   `_count` or `_total` sample as statsd_exporter's `MetricConflicts`
 *   checks) is rejected as `type_conflict`; one with other label names as
 *   `label_mismatch` (Prometheus's consistency rule, which statsd_exporter
 *   enforced through client_golang's checked registration before it
 *   switched to unchecked collectors). A name the application registered
 *   itself with the same type and label names (a kit's metric, such as
 *   `cache_hits_total{cache}`) is recorded into; with another type or
 *   other labels (`http_requests_total`) it is a `name_conflict`. A new
 *   name past `maxMetrics` is a `too_many_metrics`. Label sets past the
 *   registry's `cardinalityLimit` go to the overflow series, counted in
 *   `vigil_cardinality_overflow_total` by the registry.
 * - **Limits.** A UDP packet larger than `maxPacketBytes` is rejected
 *   whole, each of its lines counted as `oversized`; on TCP a line longer
 *   than that is skipped up to its newline and counted once, and the
 *   connection goes on. At most 1024 TCP connections are served at once;
 *   more are closed on accept.
 * - **Accounting.** Every non-empty line is counted once, in
 *   `vigil_ingest_lines_total{protocol="statsd"}` when recorded (or dropped
 *   by a `drop` rule) or in
 *   `vigil_ingest_lines_rejected_total{protocol="statsd",reason}` with the
 *   parser's reasons (`malformed`, `bad_value`, `bad_type`,
 *   `bad_sample_rate`, `bad_tag`, `too_long`) or the ones above. Nothing a
 *   client sends makes the listener throw; the first rejection of each
 *   reason is logged (category `vigil.ingest`).
 *
 * @module
 */
import dgram from "node:dgram";
import type { Registry } from "../metrics/registry.ts";
import type { MappingRule } from "./mapping.ts";
import { StatsdParser } from "./statsd.ts";
import { StatsdRecorder } from "./_statsd_recorder.ts";

/** Options of {@linkcode startStatsd}. */
export interface StatsdOptions {
  /**
   * The address to listen on, UDP and TCP.
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port, UDP and TCP; 0 picks a free one (for both).
   * @default {9125}
   */
  port?: number;
  /**
   * Whether to listen on TCP too (same port), newline-delimited.
   * @default {true}
   */
  tcp?: boolean;
  /**
   * Mapping rules from dotted names to metric names and labels, first
   * match wins (see `StatsdMapper`).
   * @default {[]}
   */
  mappings?: readonly MappingRule[];
  /**
   * What `ms`, `h` and `d` lines are recorded into when no rule says.
   * @default {"histogram"}
   */
  observer?: "histogram" | "summary";
  /**
   * Histogram buckets (seconds for timers).
   * @default {the registry's DEFAULT_BUCKETS}
   */
  buckets?: readonly number[];
  /**
   * The window sets count distinct members over, in seconds.
   * @default {60}
   */
  setWindowSeconds?: number;
  /**
   * The largest UDP packet or TCP line accepted, in bytes; larger ones are
   * rejected as `oversized`.
   * @default {65535}
   */
  maxPacketBytes?: number;
  /**
   * The most metric families ingestion creates; lines of new names past it
   * are rejected as `too_many_metrics`.
   * @default {10000}
   */
  maxMetrics?: number;
  /**
   * The clock of set windows, in milliseconds; tests replace it.
   * @default {performance.now}
   */
  now?: () => number;
}

/** A running listener, from {@linkcode startStatsd}. */
export interface StatsdServer {
  /** The address listened on. */
  readonly hostname: string;
  /** The UDP port actually bound; TCP (when on) uses the same. */
  readonly port: number;
  /**
   * Lines counted so far, for tests and benchmarks.
   *
   * @returns Accepted and rejected lines since the start.
   */
  stats(): { accepted: number; rejected: number };
  /**
   * Stops listening, closes TCP connections and releases both ports.
   * Idempotent. The metrics stay in the registry.
   *
   * @returns When everything is closed.
   */
  close(): Promise<void>;
}

const DEFAULT_PORT = 9125;
const DEFAULT_MAX_PACKET = 65535;
const DEFAULT_MAX_METRICS = 10_000;
const DEFAULT_SET_WINDOW = 60;
const MAX_CONNECTIONS = 1024;
const READ_SIZE = 64 * 1024;
const PORT_ATTEMPTS = 8;
const NEWLINE = 10;
const CR = 13;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot start StatsD listener: ${name} must be a positive integer, got ${
        String(value)
      }`,
    );
  }
  return value;
}

/** Non-empty lines in a packet, as the parser splits them. */
function countLines(bytes: Uint8Array): number {
  let count = 0;
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    const length = end - start;
    if (length > 1 || (length === 1 && bytes[start] !== CR)) count++;
    start = end + 1;
  }
  return count;
}

/**
 * Starts a StatsD/DogStatsD listener that records into `registry`. See the
 * module documentation for what each line becomes and how problems are
 * counted. Registers `vigil_ingest_lines_total` and
 * `vigil_ingest_lines_rejected_total` in `registry`, so one registry takes
 * one listener.
 *
 * @param registry Where metrics are created and recorded.
 * @param options Address, port, mappings and limits.
 * @returns The running listener; call `close()` when done.
 * @throws {RangeError} When a port, limit or window is out of range, or the buckets are invalid.
 * @throws {TypeError} When a mapping rule is invalid.
 * @throws {DuplicateMetricError} When the ingestion counters are registered already.
 * @throws {Error} When the port cannot be bound (its `cause` says why).
 *
 * @example Count a DogStatsD counter sent over UDP
 * ```ts
 * import { startStatsd } from "./statsd_server.ts";
 * import { Registry } from "../metrics/registry.ts";
 * import dgram from "node:dgram";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const server = await startStatsd(registry, { port: 0, tcp: false });
 * const client = dgram.createSocket("udp4");
 * await new Promise<void>((done) => client.bind(0, "127.0.0.1", done));
 * await new Promise((done) =>
 *   client.send("api.requests:2|c|#route:/users", server.port, "127.0.0.1", done)
 * );
 * client.close();
 * for (let i = 0; i < 100 && server.stats().accepted < 1; i++) {
 *   await new Promise((done) => setTimeout(done, 10));
 * }
 * assert.match(
 *   await registry.metrics(),
 *   /^api_requests_total\{route="\/users"\} 2$/m,
 * );
 * await server.close();
 * await registry.close();
 * ```
 */
export async function startStatsd(
  registry: Registry,
  options: StatsdOptions = {},
): Promise<StatsdServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot start StatsD listener: port must be an integer from 0 to 65535, got ${
        String(port)
      }`,
    );
  }
  const maxPacketBytes = positiveInteger(
    "maxPacketBytes",
    options.maxPacketBytes ?? DEFAULT_MAX_PACKET,
  );
  const maxMetrics = positiveInteger(
    "maxMetrics",
    options.maxMetrics ?? DEFAULT_MAX_METRICS,
  );
  const window = options.setWindowSeconds ?? DEFAULT_SET_WINDOW;
  if (!(Number.isFinite(window) && window > 0)) {
    throw new RangeError(
      `Cannot start StatsD listener: setWindowSeconds must be a finite positive number, got ${
        String(window)
      }`,
    );
  }
  const recorder = new StatsdRecorder(registry, {
    mappings: options.mappings,
    observer: options.observer,
    buckets: options.buckets,
    setWindowSeconds: window,
    maxMetrics,
    now: options.now ?? (() => performance.now()),
  });
  const parser = new StatsdParser(recorder, { maxLineLength: maxPacketBytes });
  const listener = new Listener(hostname, recorder, parser, maxPacketBytes);
  await listener.start(port, options.tcp ?? true);
  return listener;
}

/** Both sockets and the TCP connections of one listener. */
class Listener implements StatsdServer {
  readonly hostname: string;
  port = 0;
  readonly #recorder: StatsdRecorder;
  readonly #parser: StatsdParser;
  readonly #maxPacketBytes: number;
  #udp: dgram.Socket | undefined;
  #tcp: Deno.Listener | undefined;
  #accepting: Promise<void> | undefined;
  readonly #connections = new Map<Deno.Conn, Promise<void>>();
  #closing: Promise<void> | undefined;

  constructor(
    hostname: string,
    recorder: StatsdRecorder,
    parser: StatsdParser,
    maxPacketBytes: number,
  ) {
    this.hostname = hostname;
    this.#recorder = recorder;
    this.#parser = parser;
    this.#maxPacketBytes = maxPacketBytes;
  }

  async start(port: number, tcp: boolean): Promise<void> {
    // With port 0, UDP picks the port and TCP follows; a port free for UDP
    // may be taken for TCP, so try a few.
    const attempts = port === 0 && tcp ? PORT_ATTEMPTS : 1;
    for (let attempt = 1;; attempt++) {
      const udp = await this.#bindUdp(port);
      const bound = udp.address().port;
      if (!tcp) {
        this.#udp = udp;
        this.port = bound;
        return;
      }
      try {
        this.#tcp = Deno.listen({ hostname: this.hostname, port: bound });
      } catch (error) {
        await closeSocket(udp);
        if (error instanceof Deno.errors.AddrInUse && attempt < attempts) {
          continue;
        }
        throw new Error(
          `Cannot start StatsD listener on TCP ${this.hostname}:${bound}: ${
            error instanceof Error ? error.message : String(error)
          }`,
          { cause: error },
        );
      }
      this.#udp = udp;
      this.port = bound;
      this.#accepting = this.#accept(this.#tcp);
      return;
    }
  }

  async #bindUdp(port: number): Promise<dgram.Socket> {
    const udp = dgram.createSocket({
      type: this.hostname.includes(":") ? "udp6" : "udp4",
    });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind(port, this.hostname, () => {
          udp.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      await closeSocket(udp);
      throw new Error(
        `Cannot start StatsD listener on UDP ${this.hostname}:${port}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
    // No setRecvBufferSize(): Deno's node:dgram allocates a receive buffer
    // of that size for every packet, which made 8 MiB cost 0.7 ms a packet.
    udp.on("message", (packet: Uint8Array) => this.#packet(packet));
    // Errors after binding must not crash the host: logged once.
    udp.on("error", (error: Error) => this.#recorder.socketError(error));
    return udp;
  }

  #packet(packet: Uint8Array): void {
    if (packet.length > this.#maxPacketBytes) {
      const lines = countLines(packet);
      for (let i = 0; i < lines; i++) this.#recorder.reject("oversized", "");
      return;
    }
    this.#parser.parse(packet);
  }

  async #accept(listener: Deno.Listener): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (
          error instanceof Deno.errors.BadResource ||
          error instanceof Deno.errors.Interrupted
        ) return;
        // A failed accept (out of descriptors) must not end the loop.
        if (error instanceof Error) continue;
        throw error;
      }
      if (this.#connections.size >= MAX_CONNECTIONS) {
        conn.close();
        continue;
      }
      const done = this.#serve(conn).finally(() =>
        this.#connections.delete(conn)
      );
      this.#connections.set(conn, done);
    }
  }

  /** Reads newline-delimited lines; a line past the limit is skipped. */
  async #serve(conn: Deno.Conn): Promise<void> {
    const max = this.#maxPacketBytes;
    const chunk = new Uint8Array(READ_SIZE);
    // The start of a line the last read cut; never more than `max` bytes.
    const carry = new Uint8Array(max);
    let carried = 0;
    let skipping = false;
    try {
      for (;;) {
        const read = await conn.read(chunk);
        if (read === null) break;
        const data = chunk.subarray(0, read);
        let start = 0;
        for (;;) {
          const newline = data.indexOf(NEWLINE, start);
          if (newline < 0) break;
          if (skipping) {
            skipping = false;
          } else if (carried > 0) {
            if (carried + newline - start > max) {
              this.#recorder.reject("oversized", "");
            } else {
              carry.set(data.subarray(start, newline), carried);
              this.#parser.parse(carry.subarray(0, carried + newline - start));
            }
            carried = 0;
          } else {
            start = this.#lines(data, start, newline);
            continue;
          }
          start = newline + 1;
        }
        const rest = read - start;
        if (rest === 0 || skipping) continue;
        if (carried + rest > max) {
          this.#recorder.reject("oversized", "");
          carried = 0;
          skipping = true;
        } else {
          carry.set(data.subarray(start), carried);
          carried += rest;
        }
      }
      if (carried > 0 && !skipping) {
        this.#parser.parse(carry.subarray(0, carried));
      }
    } catch (error) {
      // A reset or a close() ends the connection as expected; anything
      // else is logged once, and only this connection ends.
      if (
        !(error instanceof Deno.errors.BadResource ||
          error instanceof Deno.errors.Interrupted ||
          error instanceof Deno.errors.ConnectionReset ||
          error instanceof Deno.errors.BrokenPipe)
      ) this.#recorder.socketError(error);
    }
    closeConn(conn);
  }

  /**
   * Parses the run of complete lines from `start` through the newline at
   * `first` and the ones after it in `data`, up to an oversized line or
   * the last newline. Returns where the next unparsed byte is.
   */
  #lines(data: Uint8Array, start: number, first: number): number {
    const max = this.#maxPacketBytes;
    let lineStart = start;
    let newline = first;
    for (;;) {
      if (newline - lineStart > max) {
        if (lineStart > start) {
          this.#parser.parse(data.subarray(start, lineStart));
        }
        this.#recorder.reject("oversized", "");
        return newline + 1;
      }
      const next = data.indexOf(NEWLINE, newline + 1);
      if (next < 0) {
        this.#parser.parse(data.subarray(start, newline));
        return newline + 1;
      }
      lineStart = newline + 1;
      newline = next;
    }
  }

  stats(): { accepted: number; rejected: number } {
    return {
      accepted: this.#recorder.acceptedLines,
      rejected: this.#recorder.rejectedLines,
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const udp = this.#udp;
    this.#udp = undefined;
    const closed = udp === undefined ? undefined : closeSocket(udp);
    if (this.#tcp !== undefined) {
      this.#tcp.close();
      await this.#accepting;
      this.#tcp = undefined;
    }
    for (const conn of this.#connections.keys()) closeConn(conn);
    await Promise.all(this.#connections.values());
    await closed;
  }
}

/** Closes a connection that may be closed already. */
function closeConn(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}
