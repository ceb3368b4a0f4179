import { createLogger, type Logger } from "../base/log.ts";
import { errorMessage, truncate } from "./_output.ts";
import { CHECK_DEFAULTS } from "./defaults.ts";
import { MAX_TIMER_MS } from "../base/_validation.ts";

/** The outcome of one run of a check, in the IETF health-check draft's words. */
export const CheckStatus = {
  Pass: "pass",
  Warn: "warn",
  Fail: "fail",
} as const;

/** One of the values of {@linkcode CheckStatus}. */
export type CheckStatus = typeof CheckStatus[keyof typeof CheckStatus];

/** A check's status as the `health.status_changed` log line names it. */
const COMPONENT_STATUS: Readonly<Record<CheckStatus | "pending", string>> = {
  pending: "pending",
  pass: "healthy",
  warn: "degraded",
  fail: "unhealthy",
};

/** The status of a whole service, from the statuses of its checks. */
export const HealthStatus = {
  Healthy: "healthy",
  Degraded: "degraded",
  Unhealthy: "unhealthy",
} as const;

/** One of the values of {@linkcode HealthStatus}. */
export type HealthStatus = typeof HealthStatus[keyof typeof HealthStatus];

/** What one run of a {@linkcode HealthCheck} found. */
export interface CheckResult {
  /** The outcome. */
  status: CheckStatus;
  /** The figure measured, such as a response time; finite. */
  observedValue?: number;
  /** The unit of `observedValue`, such as `"ms"` or `"percent"`. */
  observedUnit?: string;
  /** A short human-readable detail, usually why the check did not pass. */
  output?: string;
}

/**
 * A health check: looks at one dependency or resource and says how it is.
 * It should give up when `signal` aborts (pass it to `fetch`, for example);
 * one that throws or rejects counts as `"fail"` with the error's message.
 */
export type HealthCheck = (
  signal: AbortSignal,
) => CheckResult | Promise<CheckResult>;

/** Options of {@linkcode Health.register}. */
export interface CheckOptions {
  /**
   * Whether a failure makes the service unhealthy and not ready. A failing
   * check that is not critical only degrades it.
   * @default {true}
   */
  critical?: boolean;
  /**
   * A run slower than this counts as `"fail"` with the output
   * `"timed out after N ms"`, and its signal aborts.
   * @default {5000}
   */
  timeoutMs?: number;
  /**
   * Milliseconds between the starts of two runs in the background.
   * @default {10000}
   */
  intervalMs?: number;
  /**
   * The kind of component checked, the draft's `componentType`, such as
   * `"datastore"` or `"system"`.
   * @default {"component"}
   */
  componentType?: string;
  /**
   * What the check measures, the draft's `measurementName`: a body's
   * `checks` key is `"name:measurement"`, such as `"db:responseTime"`.
   * @default {"status"}
   */
  measurement?: string;
}

/** The last known state of one check, as {@linkcode Health.report} gives it. */
export interface ComponentReport {
  /** The name the check was registered under. */
  name: string;
  /** See {@linkcode CheckOptions.componentType}. */
  componentType: string;
  /** See {@linkcode CheckOptions.measurement}. */
  measurement: string;
  /** See {@linkcode CheckOptions.critical}. */
  critical: boolean;
  /** The outcome of the last run, or `"pending"` before the first one ends. */
  status: CheckStatus | "pending";
  /** The figure the last run measured. */
  observedValue?: number;
  /** The unit of `observedValue`. */
  observedUnit?: string;
  /** The last run's detail, such as why it failed. */
  output?: string;
  /**
   * How long the last run took, or had been running when it was counted as
   * failed (timed out, or still running); null before the first.
   */
  durationMs: number | null;
  /** When the last run ended or was counted as failed, as an ISO 8601 string; null before the first. */
  lastCheck: string | null;
}

/** The state of every check and what follows from it for the service. */
export interface HealthReport {
  /** `"unhealthy"` if a critical check fails, `"degraded"` if any warns or a non-critical one fails, `"healthy"` otherwise. */
  status: HealthStatus;
  /** Whether the service should get traffic: no critical check pending or failing, and not shutting down. */
  ready: boolean;
  /** Every check, in the order they were registered. */
  components: ComponentReport[];
}

/** Options of {@linkcode Health}. */
export interface HealthOptions {
  /**
   * The clock, in milliseconds since the Unix epoch, of `lastCheck` and
   * `durationMs`; tests fix it to get stable reports.
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * Where changes of a check's status are logged.
   * @default {Vigil's logger (category `vigil.health`), written where LogTape is configured}
   */
  logger?: Logger;
}

const STATUSES: ReadonlySet<unknown> = new Set(Object.values(CheckStatus));

/** One run of a check, from its start until the check settles. */
interface Run {
  readonly started: number;
  readonly controller: AbortController;
  readonly timer: ReturnType<typeof setTimeout>;
  /** Resolves when the run reported: the check settled, timed out, or was stopped. */
  readonly done: Promise<void>;
  readonly finish: () => void;
  /** Resolves when the check itself settled, which a hanging one never does. */
  settled: Promise<void>;
  /** The run no longer reports: it timed out or was stopped, and may still hang. */
  overdue: boolean;
  /** Ignore what it returns: stop() aborted it. */
  stopped: boolean;
}

interface Entry {
  readonly name: string;
  readonly check: HealthCheck;
  readonly critical: boolean;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly componentType: string;
  readonly measurement: string;
  status: CheckStatus | "pending";
  observedValue: number | undefined;
  observedUnit: string | undefined;
  output: string | undefined;
  durationMs: number | null;
  lastCheck: string | null;
  run: Run | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * A registry of health checks that run in the background, each on its own
 * interval and with its own timeout, and whose last results
 * {@linkcode Health.report} reads synchronously: a probe never waits for a
 * dependency, and a hanging dependency never piles up runs.
 *
 * A check still pending (its first run has not ended) counts as passing for
 * the status, so a starting service is not reported unhealthy, but a
 * critical one keeps the service not ready.
 *
 * @example Register checks, run them once and read the report
 * ```ts
 * import { Health, memoryCheck } from "@vigil/observe/health";
 * import assert from "node:assert/strict";
 *
 * const health = new Health();
 * health.register("memory", memoryCheck(), { componentType: "system", measurement: "utilization" });
 * health.register("cache", () => ({ status: "warn", output: "hit ratio low" }), { critical: false });
 * await health.runAll();
 * const report = health.report();
 * assert.equal(report.status, "degraded");
 * assert.equal(report.ready, true);
 * assert.deepEqual(report.components.map((c) => `${c.name}:${c.status}`), ["memory:pass", "cache:warn"]);
 * ```
 *
 * @example Run checks in the background
 * ```ts
 * import { Health } from "@vigil/observe/health";
 *
 * const health = new Health();
 * const queue: string[] = [];
 * health.register("queue", () => ({
 *   status: queue.length < 1000 ? "pass" : "warn",
 *   observedValue: queue.length,
 * }), { intervalMs: 5000, timeoutMs: 1000, measurement: "length" });
 * health.start();
 * // ... serve health.report() on /health/ready ...
 * health.markShuttingDown();
 * await health.stop();
 * ```
 */
export class Health {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #logger: Logger;
  #started = false;
  #shuttingDown = false;

  /**
   * Creates a registry without checks.
   *
   * @param options The clock and the logger.
   */
  constructor(options: HealthOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger ?? createLogger("health");
  }

  /**
   * Adds a check. After {@linkcode Health.start} it runs at once, then on
   * its interval; before, it stays pending until a run.
   *
   * @param name A unique name, the draft's `componentName`; no `":"`.
   * @param check The check.
   * @param options Criticality, timing and the names shown in reports.
   * @throws {TypeError} When the name is empty, has a `":"` or is taken, or
   * `check` is not a function, or an option has the wrong type.
   * @throws {RangeError} When `timeoutMs` or `intervalMs` is not a positive
   * finite number of at most 2147483647.
   *
   * @example Register a non-critical check
   * ```ts
   * import { Health } from "@vigil/observe/health";
   * import assert from "node:assert/strict";
   *
   * const health = new Health();
   * health.register("search", () => ({ status: "fail", output: "index stale" }), {
   *   critical: false,
   *   componentType: "datastore",
   * });
   * assert.throws(() => health.register("search", () => ({ status: "pass" })), TypeError);
   * await health.runAll();
   * assert.equal(health.report().status, "degraded");
   * ```
   */
  register(name: string, check: HealthCheck, options: CheckOptions = {}): void {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        `Cannot register health check ${
          JSON.stringify(name)
        }: the name must be a non-empty string`,
      );
    }
    const fail = (detail: string): string =>
      `Cannot register health check ${JSON.stringify(name)}: ${detail}`;
    if (name.includes(":")) {
      throw new TypeError(
        fail('the name must not contain ":", which precedes the measurement'),
      );
    }
    if (this.#entries.has(name)) {
      throw new TypeError(fail("a check with this name already exists"));
    }
    if (typeof check !== "function") {
      throw new TypeError(
        fail(`the check must be a function, got ${typeof check}`),
      );
    }
    const critical = options.critical ?? CHECK_DEFAULTS.critical;
    if (typeof critical !== "boolean") {
      throw new TypeError(
        fail(`critical must be a boolean, got ${typeof critical}`),
      );
    }
    const componentType = options.componentType ??
      CHECK_DEFAULTS.componentType;
    if (typeof componentType !== "string" || componentType === "") {
      throw new TypeError(
        fail(
          `componentType must be a non-empty string, got ${
            JSON.stringify(componentType)
          }`,
        ),
      );
    }
    const measurement = options.measurement ?? CHECK_DEFAULTS.measurement;
    if (
      typeof measurement !== "string" || measurement === "" ||
      measurement.includes(":")
    ) {
      throw new TypeError(
        fail(
          `measurement must be a non-empty string without ":", got ${
            JSON.stringify(measurement)
          }`,
        ),
      );
    }
    const entry: Entry = {
      name,
      check,
      critical,
      timeoutMs: delay(
        options.timeoutMs,
        CHECK_DEFAULTS.timeoutMs,
        "timeoutMs",
        fail,
      ),
      intervalMs: delay(
        options.intervalMs,
        CHECK_DEFAULTS.intervalMs,
        "intervalMs",
        fail,
      ),
      componentType,
      measurement,
      status: "pending",
      observedValue: undefined,
      observedUnit: undefined,
      output: undefined,
      durationMs: null,
      lastCheck: null,
      run: undefined,
      timer: undefined,
    };
    this.#entries.set(name, entry);
    if (this.#started) this.#tick(entry);
  }

  /**
   * Runs every check now, then each on its interval, until
   * {@linkcode Health.stop}. Its timers do not keep the process alive.
   * Calling it again while started does nothing.
   *
   * @example Start and stop
   * ```ts
   * import { Health } from "@vigil/observe/health";
   *
   * const health = new Health();
   * health.register("self", () => ({ status: "pass" }));
   * health.start();
   * await health.stop();
   * ```
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const entry of this.#entries.values()) this.#tick(entry);
  }

  /**
   * Stops the background runs: clears the timers, aborts the runs in flight
   * through their signals and waits until they settle. A check that ignores
   * its signal is waited for at most its `timeoutMs`, then abandoned, so
   * stopping never hangs. Idempotent; {@linkcode Health.start} may follow.
   *
   * @returns A promise that resolves once the runs in flight settled or were abandoned.
   *
   * @example Stop during a slow run
   * ```ts
   * import { Health } from "@vigil/observe/health";
   * import assert from "node:assert/strict";
   *
   * const health = new Health();
   * let aborted = false;
   * health.register("slow", (signal) =>
   *   new Promise((resolve) => {
   *     signal.addEventListener("abort", () => {
   *       aborted = true;
   *       resolve({ status: "fail" });
   *     });
   *   }));
   * health.start();
   * await health.stop();
   * assert.equal(aborted, true);
   * assert.equal(health.report().components[0]?.status, "pending");
   * ```
   */
  async stop(): Promise<void> {
    this.#started = false;
    const runs: Run[] = [];
    let graceMs = 0;
    for (const entry of this.#entries.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
      const run = entry.run;
      if (run === undefined) continue;
      runs.push(run);
      graceMs = Math.max(graceMs, entry.timeoutMs);
      if (run.stopped) continue;
      run.stopped = true;
      run.overdue = true;
      clearTimeout(run.timer);
      run.controller.abort(
        new DOMException("Health checks stopped", "AbortError"),
      );
      run.finish();
    }
    if (runs.length === 0) return;
    let grace: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.all(runs.map((run) => run.settled)),
        new Promise((resolve) => {
          grace = setTimeout(resolve, graceMs);
        }),
      ]);
    } finally {
      clearTimeout(grace);
    }
  }

  /**
   * Runs every check once now, whether started or not, and resolves when
   * each has a result: it passed, warned or failed, or timed out. A check
   * whose run is in flight is not run again: a run that is not overdue is
   * waited for, and one past its timeout counts as failed,
   * `"still running after N ms"`.
   *
   * @returns A promise that resolves when every check has a new result.
   *
   * @example Wait for a first readiness
   * ```ts
   * import { Health } from "@vigil/observe/health";
   * import assert from "node:assert/strict";
   *
   * const health = new Health();
   * health.register("db", () => ({ status: "pass", observedValue: 3, observedUnit: "ms" }));
   * assert.equal(health.report().ready, false);
   * await health.runAll();
   * assert.equal(health.report().ready, true);
   * ```
   */
  async runAll(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const entry of this.#entries.values()) {
      const run = entry.run;
      if (run === undefined) pending.push(this.#start(entry, true));
      else if (run.overdue) this.#stillRunning(entry, run);
      else {
        // Someone awaits this run now: its timeout must keep the process up.
        Deno.refTimer(run.timer);
        pending.push(run.done);
      }
    }
    await Promise.all(pending);
  }

  /**
   * The state of every check, from the last results: it runs nothing, so a
   * probe answers at once whatever the dependencies do.
   *
   * @returns The aggregate status, readiness and each check's last result.
   *
   * @example Read the report of a service starting
   * ```ts
   * import { Health } from "@vigil/observe/health";
   * import assert from "node:assert/strict";
   *
   * const health = new Health();
   * health.register("db", () => ({ status: "pass" }));
   * const report = health.report();
   * assert.equal(report.status, "healthy");
   * assert.equal(report.ready, false);
   * assert.equal(report.components[0]?.status, "pending");
   * ```
   */
  report(): HealthReport {
    let status: HealthStatus = HealthStatus.Healthy;
    let ready = !this.#shuttingDown;
    const components: ComponentReport[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.status === "fail" && entry.critical) {
        status = HealthStatus.Unhealthy;
      } else if (
        (entry.status === "warn" || entry.status === "fail") &&
        status === HealthStatus.Healthy
      ) {
        status = HealthStatus.Degraded;
      }
      if (
        entry.critical &&
        (entry.status === "pending" || entry.status === "fail")
      ) {
        ready = false;
      }
      const component: ComponentReport = {
        name: entry.name,
        componentType: entry.componentType,
        measurement: entry.measurement,
        critical: entry.critical,
        status: entry.status,
        durationMs: entry.durationMs,
        lastCheck: entry.lastCheck,
      };
      if (entry.observedValue !== undefined) {
        component.observedValue = entry.observedValue;
      }
      if (entry.observedUnit !== undefined) {
        component.observedUnit = entry.observedUnit;
      }
      if (entry.output !== undefined) component.output = entry.output;
      components.push(component);
    }
    return { status, ready, components };
  }

  /**
   * Declares that the service is shutting down: from then on
   * {@linkcode Health.report} says it is not ready, so the load balancer
   * stops sending traffic while requests in flight finish. Checks go on.
   *
   * @example Drain before stopping
   * ```ts
   * import { Health } from "@vigil/observe/health";
   * import assert from "node:assert/strict";
   *
   * const health = new Health();
   * assert.equal(health.report().ready, true);
   * health.markShuttingDown();
   * assert.equal(health.report().ready, false);
   * ```
   */
  markShuttingDown(): void {
    this.#shuttingDown = true;
  }

  // Fires on the interval: starts a run, unless the last one is in flight.
  #tick(entry: Entry): void {
    // Scheduled before the run, so intervals are measured between starts.
    entry.timer = setTimeout(() => this.#tick(entry), entry.intervalMs);
    Deno.unrefTimer(entry.timer);
    const run = entry.run;
    if (run === undefined) this.#start(entry, false);
    else if (run.overdue) this.#stillRunning(entry, run);
    // Otherwise a run slower than the interval but within its timeout will report.
  }

  #start(entry: Entry, keepAlive: boolean): Promise<void> {
    const started = this.#now();
    const controller = new AbortController();
    const { promise: done, resolve: finish } = Promise.withResolvers<void>();
    const timer = setTimeout(() => {
      run.overdue = true;
      const output = `timed out after ${entry.timeoutMs} ms`;
      controller.abort(new DOMException(output, "TimeoutError"));
      this.#record(entry, { status: "fail", output }, started);
      finish();
    }, entry.timeoutMs);
    // In the background a timeout must not keep the process alive; for
    // runAll() it must, or an awaited hanging check could end the process.
    if (!keepAlive) Deno.unrefTimer(timer);
    const run: Run = {
      started,
      controller,
      timer,
      done,
      finish,
      settled: done,
      overdue: false,
      stopped: false,
    };
    entry.run = run;
    run.settled = invoke(entry.check, controller.signal).then((result) => {
      clearTimeout(timer);
      if (entry.run === run) entry.run = undefined;
      if (!run.overdue) this.#record(entry, result, started);
      finish();
    });
    return done;
  }

  #stillRunning(entry: Entry, run: Run): void {
    const elapsed = Math.round(this.#now() - run.started);
    this.#record(entry, {
      status: "fail",
      output: `still running after ${elapsed} ms`,
    }, run.started);
  }

  #record(entry: Entry, result: CheckResult, started: number): void {
    const now = this.#now();
    const previous = entry.status;
    entry.status = result.status;
    entry.observedValue = result.observedValue;
    entry.observedUnit = result.observedUnit;
    entry.output = result.output;
    // To the microsecond: a finer figure is clock noise.
    entry.durationMs = Math.round(Math.max(0, now - started) * 1000) / 1000;
    entry.lastCheck = new Date(now).toISOString();
    if (previous === result.status) return;
    if (previous === "pending" && result.status === "pass") return;
    const fields = {
      event: "health.status_changed",
      component: entry.name,
      from: COMPONENT_STATUS[previous],
      to: COMPONENT_STATUS[result.status],
      critical: entry.critical,
      ...(result.output === undefined ? {} : { output: result.output }),
    };
    if (result.status === "fail") {
      if (entry.critical) this.#logger.error("Health check failing", fields);
      else this.#logger.warn("Health check failing", fields);
    } else if (result.status === "warn") {
      this.#logger.warn("Health check warning", fields);
    } else {
      this.#logger.info("Health check passing again", fields);
    }
  }
}

function delay(
  value: number | undefined,
  fallback: number,
  key: string,
  fail: (detail: string) => string,
): number {
  const ms = value ?? fallback;
  if (typeof ms !== "number") {
    throw new TypeError(fail(`${key} must be a number, got ${typeof ms}`));
  }
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_TIMER_MS) {
    throw new RangeError(
      fail(
        `${key} must be a positive finite number of at most ${MAX_TIMER_MS}, got ${ms}`,
      ),
    );
  }
  return ms;
}

// Never rejects: whatever the check does becomes a result.
async function invoke(
  check: HealthCheck,
  signal: AbortSignal,
): Promise<CheckResult> {
  let value: unknown;
  try {
    value = await check(signal);
  } catch (error) {
    return { status: "fail", output: errorMessage(error) };
  }
  return normalize(value);
}

// Keeps the well-formed fields of what a check returned, so a sloppy check
// still reports, and a result without a valid status fails.
function normalize(value: unknown): CheckResult {
  if (typeof value !== "object" || value === null) {
    return {
      status: "fail",
      output: `invalid result: expected an object, got ${
        value === null ? "null" : typeof value
      }`,
    };
  }
  const raw = value as Record<string, unknown>;
  if (!STATUSES.has(raw.status)) {
    return {
      status: "fail",
      output: truncate(
        `invalid result: status must be "pass", "warn" or "fail", got ${
          JSON.stringify(raw.status) ?? String(raw.status)
        }`,
      ),
    };
  }
  const result: CheckResult = { status: raw.status as CheckStatus };
  if (
    typeof raw.observedValue === "number" && Number.isFinite(raw.observedValue)
  ) {
    result.observedValue = raw.observedValue;
  }
  if (typeof raw.observedUnit === "string") {
    result.observedUnit = truncate(raw.observedUnit);
  }
  if (typeof raw.output === "string") result.output = truncate(raw.output);
  return result;
}
