import { statfs } from "node:fs/promises";
import type { WorkerStatus } from "../aggregation/types.ts";
import type { CheckResult, CheckStatus, HealthCheck } from "./health.ts";
import { diskShares } from "./_disk.ts";
import { errorMessage } from "./_output.ts";
import { redactText } from "../base/redact.ts";
import { BUILT_IN_CHECK_DEFAULTS as DEFAULTS } from "./defaults.ts";

/** Options of {@linkcode httpCheck}. */
export interface HttpCheckOptions {
  /**
   * The response statuses that pass; empty means any 2xx.
   * @default {any 2xx status}
   */
  expectStatus?: readonly number[];
}

/** Options of {@linkcode diskCheck}. */
export interface DiskCheckOptions {
  /**
   * Warns when the free share of the filesystem falls below this ratio.
   * @default {0.2}
   */
  warnFreeRatio?: number;
  /**
   * Fails when the free share of the filesystem falls below this ratio.
   * @default {0.05}
   */
  failFreeRatio?: number;
}

/** Options of {@linkcode memoryCheck}. */
export interface MemoryCheckOptions {
  /**
   * Warns when the resident set size reaches this many bytes.
   * @default {1073741824 (1 GiB)}
   */
  warnBytes?: number;
  /**
   * Fails when the resident set size reaches this many bytes.
   * @default {2147483648 (2 GiB)}
   */
  failBytes?: number;
}

/** Options of {@linkcode eventLoopLagCheck}. */
export interface EventLoopLagCheckOptions {
  /**
   * Warns when the lag reaches this many milliseconds.
   * @default {100}
   */
  warnMs?: number;
  /**
   * Fails when the lag reaches this many milliseconds.
   * @default {1000}
   */
  failMs?: number;
}

/** What {@linkcode workersCheck} reads: a `Registry` has it. */
export interface WorkerSource {
  /** How each aggregation worker is doing. */
  workers(): WorkerStatus[];
}

/**
 * Checks an HTTP dependency with a `GET`: it passes when the response status
 * is expected, and measures the time to the response headers. The body is
 * always cancelled, so connections are not held. Outputs pass through
 * `redactText()`, so a URL's password and secret query parameters
 * (`?token=`, `?api_key=`) never reach a health body. Suggested measurement:
 * `"responseTime"`. Needs `--allow-net` for the URL's host.
 *
 * @param url An absolute `http:` or `https:` URL.
 * @param options The statuses that pass.
 * @returns The check; `observedValue` is the response time in `"ms"`.
 * @throws {TypeError} When `url` is not an absolute HTTP(S) URL, or
 * `expectStatus` is not an array.
 * @throws {RangeError} When `expectStatus` holds something other than an HTTP status.
 *
 * @example Check an upstream service
 * ```ts
 * import { Health, httpCheck } from "@vigil/observe/health";
 * import assert from "node:assert/strict";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
 * try {
 *   const health = new Health();
 *   const url = `http://127.0.0.1:${server.addr.port}/health`;
 *   health.register("upstream", httpCheck(url, { expectStatus: [200] }), { measurement: "responseTime" });
 *   await health.runAll();
 *   const [upstream] = health.report().components;
 *   assert.equal(upstream?.status, "pass");
 *   assert.equal(upstream?.observedUnit, "ms");
 * } finally {
 *   await server.shutdown();
 * }
 * ```
 */
export function httpCheck(
  url: string,
  options: HttpCheckOptions = {},
): HealthCheck {
  const fail = (detail: string): string =>
    `Cannot create HTTP check of ${JSON.stringify(url)}: ${detail}`;
  let target: URL;
  try {
    target = new URL(url);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new TypeError(fail("not an absolute URL"), { cause: error });
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new TypeError(fail(`the protocol must be http or https`));
  }
  // An empty list means the default, as in the configuration file.
  const expected = options.expectStatus ?? DEFAULTS.http.expectStatus;
  if (!Array.isArray(expected)) {
    throw new TypeError(fail("expectStatus must be an array of HTTP statuses"));
  }
  for (const status of expected) {
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new RangeError(
        fail(
          `expectStatus must hold HTTP statuses from 100 to 599, got ${status}`,
        ),
      );
    }
  }
  const accepted: ReadonlySet<number> | undefined = expected.length === 0
    ? undefined
    : new Set(expected);
  const expectation = accepted === undefined ? "2xx" : expected.join(" or ");
  return async (signal) => {
    const start = performance.now();
    let response: Response;
    try {
      response = await fetch(target, { signal });
    } catch (error) {
      // After an abort the run has already been counted as failed.
      if (signal.aborted) throw error;
      // fetch() says "fetch failed"; the cause says why.
      const cause = error instanceof Error && error.cause instanceof Error
        ? error.cause
        : error;
      // The message quotes the URL: its token or password stays here.
      return {
        status: "fail",
        output: redactText(`request failed: ${errorMessage(cause)}`),
      };
    }
    const observedValue = milliseconds(performance.now() - start);
    await response.body?.cancel();
    const ok = accepted === undefined
      ? response.status >= 200 && response.status <= 299
      : accepted.has(response.status);
    const result: CheckResult = {
      status: ok ? "pass" : "fail",
      observedValue,
      observedUnit: "ms",
    };
    if (!ok) {
      result.output =
        `unexpected status ${response.status}, expected ${expectation}`;
    }
    return result;
  };
}

/**
 * Checks that a TCP port accepts connections: connects, then closes. The
 * connection attempt cannot be aborted (`Deno.connect` takes no signal), so
 * a silent host is left to the check's timeout. Suggested measurement:
 * `"responseTime"`. Needs `--allow-net` for the host and port.
 *
 * @param hostname A host name or IP address.
 * @param port A port from 1 to 65535.
 * @returns The check; `observedValue` is the time to connect in `"ms"`, and
 * a refused connection fails with the output `"connection refused"`.
 * @throws {TypeError} When `hostname` is empty.
 * @throws {RangeError} When `port` is not an integer from 1 to 65535.
 *
 * @example Check a database port
 * ```ts
 * import { Health, tcpCheck } from "@vigil/observe/health";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const health = new Health();
 * health.register("postgres", tcpCheck("127.0.0.1", listener.addr.port), { componentType: "datastore" });
 * try {
 *   await health.runAll();
 *   assert.equal(health.report().components[0]?.status, "pass");
 * } finally {
 *   listener.close();
 * }
 * ```
 */
export function tcpCheck(hostname: string, port: number): HealthCheck {
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError(
      `Cannot create TCP check of ${
        JSON.stringify(hostname)
      }: the hostname must be a non-empty string`,
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(
      `Cannot create TCP check of ${
        JSON.stringify(hostname)
      }: the port must be an integer from 1 to 65535, got ${port}`,
    );
  }
  return async () => {
    const start = performance.now();
    let connection: Deno.TcpConn;
    try {
      connection = await Deno.connect({ hostname, port });
    } catch (error) {
      const output = connectFailure(error);
      if (output === undefined) throw error;
      return { status: "fail", output };
    }
    const observedValue = milliseconds(performance.now() - start);
    connection.close();
    return { status: "pass", observedValue, observedUnit: "ms" };
  };
}

function connectFailure(error: unknown): string | undefined {
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "connection refused";
  }
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (error instanceof Deno.errors.TimedOut) return "connection timed out";
  return undefined;
}

/**
 * Checks how full the filesystem holding `path` is, from `statfs()`. The
 * free share counts only blocks the service can use, as `df` does. Suggested
 * measurement: `"utilization"`. Needs `--allow-sys=statfs` and
 * `--allow-read` for the path.
 *
 * @param path Any path on the filesystem, such as a data directory.
 * @param options The free shares below which it warns and fails.
 * @returns The check; `observedValue` is the used share in `"percent"`, to 0.1.
 * @throws {TypeError} When `path` is empty.
 * @throws {RangeError} When a ratio is outside 0 to 1, or `failFreeRatio`
 * exceeds `warnFreeRatio`.
 *
 * @example Check the root filesystem
 * ```ts
 * import { diskCheck } from "@vigil/observe/health";
 * import assert from "node:assert/strict";
 *
 * const check = diskCheck("/", { warnFreeRatio: 0.1, failFreeRatio: 0.02 });
 * const result = await check(new AbortController().signal);
 * assert.equal(result.observedUnit, "percent");
 * ```
 */
export function diskCheck(
  path: string,
  options: DiskCheckOptions = {},
): HealthCheck {
  const subject = `disk check of ${JSON.stringify(path)}`;
  if (typeof path !== "string" || path === "") {
    throw new TypeError(
      `Cannot create ${subject}: the path must be a non-empty string`,
    );
  }
  const { warn, fail } = thresholds(
    subject,
    ["warnFreeRatio", options.warnFreeRatio, DEFAULTS.disk.warnFreeRatio],
    ["failFreeRatio", options.failFreeRatio, DEFAULTS.disk.failFreeRatio],
    1,
  );
  if (fail > warn) {
    throw new RangeError(
      `Cannot create ${subject}: failFreeRatio must not exceed warnFreeRatio, got ${fail} > ${warn}`,
    );
  }
  return async () => {
    const shares = diskShares(await statfs(path));
    if (shares === undefined) {
      return { status: "fail", output: "the filesystem reports no blocks" };
    }
    const { usedPercent, freeRatio } = shares;
    const status: CheckStatus = freeRatio < fail
      ? "fail"
      : freeRatio < warn
      ? "warn"
      : "pass";
    const result: CheckResult = {
      status,
      observedValue: Math.round(usedPercent * 10) / 10,
      observedUnit: "percent",
    };
    if (status !== "pass") {
      result.output = `${percent(freeRatio)} free, below ${
        percent(status === "fail" ? fail : warn)
      }`;
    }
    return result;
  };
}

/**
 * Checks this process's resident memory (`Deno.memoryUsage().rss`).
 * Suggested measurement: `"utilization"`. Needs no permission.
 *
 * @param options The sizes at which it warns and fails.
 * @returns The check; `observedValue` is the resident set size in `"bytes"`.
 * @throws {RangeError} When a size is negative or not finite, or `failBytes` is below `warnBytes`.
 *
 * @example Warn at 512 MiB, fail at 1 GiB
 * ```ts
 * import { memoryCheck } from "@vigil/observe/health";
 * import assert from "node:assert/strict";
 *
 * const check = memoryCheck({ warnBytes: 512 * 2 ** 20, failBytes: 2 ** 30 });
 * const result = await check(new AbortController().signal);
 * assert.equal(result.observedUnit, "bytes");
 * ```
 */
export function memoryCheck(options: MemoryCheckOptions = {}): HealthCheck {
  const subject = "memory check";
  const { warn, fail } = thresholds(
    subject,
    ["warnBytes", options.warnBytes, DEFAULTS.memory.warnBytes],
    ["failBytes", options.failBytes, DEFAULTS.memory.failBytes],
    Number.MAX_SAFE_INTEGER,
  );
  ordered(subject, "warnBytes", warn, "failBytes", fail);
  return () => {
    const rss = Deno.memoryUsage().rss;
    return atOrAbove("resident memory", rss, warn, fail, "bytes", mebibytes);
  };
}

/**
 * Checks the event loop's lag, as measured by a monitor elsewhere: a loop
 * that lags answers every request late. Suggested measurement:
 * `"responseTime"`. Needs no permission.
 *
 * @param lag Returns the current lag in milliseconds.
 * @param options The lags at which it warns and fails.
 * @returns The check; `observedValue` is the lag in `"ms"`, to the microsecond.
 * @throws {TypeError} When `lag` is not a function.
 * @throws {RangeError} When a threshold is negative or not finite, or `failMs` is below `warnMs`.
 *
 * @example Check a lag figure
 * ```ts
 * import { eventLoopLagCheck } from "@vigil/observe/health";
 * import assert from "node:assert/strict";
 *
 * const check = eventLoopLagCheck(() => 250, { warnMs: 100, failMs: 1000 });
 * const result = await check(new AbortController().signal);
 * assert.equal(result.status, "warn");
 * assert.equal(result.observedValue, 250);
 * ```
 */
export function eventLoopLagCheck(
  lag: () => number,
  options: EventLoopLagCheckOptions = {},
): HealthCheck {
  const subject = "event-loop lag check";
  if (typeof lag !== "function") {
    throw new TypeError(
      `Cannot create ${subject}: lag must be a function, got ${typeof lag}`,
    );
  }
  const { warn, fail } = thresholds(
    subject,
    ["warnMs", options.warnMs, DEFAULTS.eventLoop.warnMs],
    ["failMs", options.failMs, DEFAULTS.eventLoop.failMs],
    Number.MAX_SAFE_INTEGER,
  );
  ordered(subject, "warnMs", warn, "failMs", fail);
  return () => {
    const value = lag();
    if (typeof value !== "number" || !Number.isFinite(value)) {
      return {
        status: "fail",
        output: `the lag monitor returned ${
          String(value)
        }, not a finite number`,
      };
    }
    const result = atOrAbove(
      "lag",
      value,
      warn,
      fail,
      "ms",
      (ms) => `${milliseconds(ms)} ms`,
    );
    result.observedValue = milliseconds(value);
    return result;
  };
}

/**
 * Checks the aggregation workers of a registry. It passes when every worker
 * is connected and responsive, or there are none; warns when a shard
 * aggregates on the main thread (the degraded mode after repeated crashes,
 * or `workers: 0`) or a worker is waiting for its restart; fails when a
 * connected worker stopped answering its heartbeat. Suggested measurement:
 * `"workers"`. Needs no permission.
 *
 * @param registry A `Registry`, or anything with its `workers()` method.
 * @returns The check; `observedValue` is the number of responsive workers,
 * in `"workers"`.
 * @throws {TypeError} When `registry` has no `workers()` method.
 *
 * @example Check a registry's workers
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { Health, workersCheck } from "@vigil/observe/health";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const health = new Health();
 * health.register("aggregation", workersCheck(registry), { componentType: "system" });
 * await health.runAll();
 * assert.equal(health.report().components[0]?.observedValue, 0); // no histogram yet
 * await registry.close();
 * ```
 */
export function workersCheck(registry: WorkerSource): HealthCheck {
  if (typeof registry?.workers !== "function") {
    throw new TypeError(
      "Cannot create workers check: the registry must have a workers() method",
    );
  }
  return () => {
    const unresponsive: string[] = [];
    const restarting: string[] = [];
    const inThread: string[] = [];
    let responsive = 0;
    for (const worker of registry.workers()) {
      if (worker.responsive) responsive++;
      if (!worker.connected) restarting.push(`worker ${worker.index}`);
      else if (worker.fallback) {
        inThread.push(`shard ${worker.index} (${worker.fallbackReason})`);
      } else if (!worker.responsive) {
        unresponsive.push(
          `worker ${worker.index} silent for ${
            Math.round(worker.silentForMs)
          } ms`,
        );
      }
    }
    const details: string[] = [];
    if (unresponsive.length > 0) {
      details.push(`unresponsive: ${unresponsive.join(", ")}`);
    }
    if (restarting.length > 0) {
      details.push(`restart pending: ${restarting.join(", ")}`);
    }
    if (inThread.length > 0) {
      details.push(
        `on the main thread: ${inThread.join(", ")}`,
      );
    }
    const status: CheckStatus = unresponsive.length > 0
      ? "fail"
      : details.length > 0
      ? "warn"
      : "pass";
    const result: CheckResult = {
      status,
      observedValue: responsive,
      observedUnit: "workers",
    };
    if (details.length > 0) result.output = details.join("; ");
    return result;
  };
}

type Threshold = readonly [
  key: string,
  value: number | undefined,
  fallback: number,
];

function thresholds(
  subject: string,
  [warnKey, warnValue, warnDefault]: Threshold,
  [failKey, failValue, failDefault]: Threshold,
  max: number,
): { warn: number; fail: number } {
  const check = (key: string, value: number): number => {
    if (
      typeof value !== "number" || !Number.isFinite(value) || value < 0 ||
      value > max
    ) {
      throw new RangeError(
        `Cannot create ${subject}: ${key} must be a finite number from 0 to ${max}, got ${
          String(value)
        }`,
      );
    }
    return value;
  };
  return {
    warn: check(warnKey, warnValue ?? warnDefault),
    fail: check(failKey, failValue ?? failDefault),
  };
}

function ordered(
  subject: string,
  warnKey: string,
  warn: number,
  failKey: string,
  fail: number,
): void {
  if (fail < warn) {
    throw new RangeError(
      `Cannot create ${subject}: ${failKey} must not be below ${warnKey}, got ${fail} < ${warn}`,
    );
  }
}

function atOrAbove(
  what: string,
  value: number,
  warn: number,
  fail: number,
  unit: string,
  format: (value: number) => string,
): CheckResult {
  const status: CheckStatus = value >= fail
    ? "fail"
    : value >= warn
    ? "warn"
    : "pass";
  const result: CheckResult = {
    status,
    observedValue: value,
    observedUnit: unit,
  };
  if (status !== "pass") {
    const limit = status === "fail" ? fail : warn;
    result.output = `${what} ${format(value)}, at or above ${format(limit)}`;
  }
  return result;
}

function milliseconds(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
