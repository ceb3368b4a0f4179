// The circuit breaker kit: the state, transitions and failures of a breaker,
// a small breaker that reports itself, and an adapter for opossum's events.
import type { Registry } from "../metrics/registry.ts";
import type { Kit } from "./spec.ts";
import { componentName, sharedCounter, sharedGauge } from "./_families.ts";
import { countOption, durationOption, numberOption } from "./_options.ts";

/** The states of a circuit breaker. */
export const CircuitState = {
  /** Calls go through; failures are counted. */
  closed: "closed",
  /** Calls are rejected without running. */
  open: "open",
  /** A few trial calls go through to test the dependency. */
  half_open: "half_open",
} as const;

/** A state of a circuit breaker. */
export type CircuitState = typeof CircuitState[keyof typeof CircuitState];

/** What `circuit_breaker_state` holds for each state. */
const STATE_VALUES: Readonly<Record<CircuitState, number>> = {
  closed: 0,
  open: 1,
  half_open: 2,
};

/** The changes a breaker makes by itself, exposed at 0 from the start so `rate()` sees the first one. */
const TRANSITIONS: readonly (readonly [CircuitState, CircuitState])[] = [
  ["closed", "open"],
  ["open", "half_open"],
  ["half_open", "closed"],
  ["half_open", "open"],
];

/** Options of {@linkcode circuitBreakerMetrics}. */
export interface CircuitBreakerMetricsOptions {
  /** The breaker's name: the `component` label of its series, e.g. `payments`. */
  readonly name: string;
}

/** What {@linkcode circuitBreakerMetrics} returns: one breaker's helpers. */
export interface CircuitBreakerMetrics {
  /** The breaker's name, its `component` label. */
  readonly component: string;
  /**
   * Sets `circuit_breaker_state` (0 closed, 1 open, 2 half open) and, when
   * the state changes, counts `circuit_breaker_transitions_total{from,to}`.
   */
  state(state: CircuitState): void;
  /** Counts failed calls through the breaker (`circuit_breaker_failures_total`). */
  failure(count?: number): void;
}

/**
 * Metrics of one circuit breaker, registered once per registry and shared
 * by every breaker: `circuit_breaker_state{component}` (0 closed, 1 open,
 * 2 half open), `circuit_breaker_transitions_total{component,from,to}` and
 * `circuit_breaker_failures_total{component}`. Report a breaker of your
 * own with these helpers, use {@linkcode CircuitBreaker}, or wire an
 * opossum breaker with {@linkcode fromOpossum}.
 *
 * @param registry Where the metrics live.
 * @param options The breaker's name.
 * @returns The breaker's helpers; it starts closed.
 * @throws {TypeError} When the name is empty, or the registry holds one of
 * the names as another metric.
 *
 * @example Report a breaker's state changes
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { circuitBreakerMetrics } from "@vigil/observe/kits";
 * import { sampleValue } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const payments = circuitBreakerMetrics(registry, { name: "payments" });
 * payments.failure();
 * payments.state("open");
 * assert.equal(await sampleValue(registry, "circuit_breaker_state", { component: "payments" }), 1);
 * assert.equal(
 *   await sampleValue(registry, "circuit_breaker_transitions_total", {
 *     component: "payments",
 *     from: "closed",
 *     to: "open",
 *   }),
 *   1,
 * );
 * await registry.close();
 * ```
 */
export function circuitBreakerMetrics(
  registry: Registry,
  options: CircuitBreakerMetricsOptions,
): CircuitBreakerMetrics {
  const component = componentName("circuit breaker", options?.name);
  const gauge = sharedGauge(registry, {
    name: "circuit_breaker_state",
    help: "State of the circuit breaker: 0 closed, 1 open, 2 half open",
    labelNames: ["component"],
  }).labels({ component });
  const transitions = sharedCounter(registry, {
    name: "circuit_breaker_transitions_total",
    help: "State changes of the circuit breaker, by previous and new state",
    labelNames: ["component", "from", "to"],
  });
  for (const [from, to] of TRANSITIONS) {
    transitions.labels({ component, from, to });
  }
  const failures = sharedCounter(registry, {
    name: "circuit_breaker_failures_total",
    help: "Calls through the circuit breaker that failed",
    labelNames: ["component"],
  }).labels({ component });
  // A second call for the component takes up its state where it is.
  let current: CircuitState = (Object.keys(STATE_VALUES) as CircuitState[])
    .find((state) => STATE_VALUES[state] === gauge.value) ?? "closed";
  return {
    component,
    state(state) {
      const value = STATE_VALUES[state];
      if (!Object.hasOwn(STATE_VALUES, state) || value === undefined) {
        throw new TypeError(
          `Cannot set the state of circuit breaker "${component}": state must be "closed", "open" or "half_open", got ${
            JSON.stringify(state)
          }`,
        );
      }
      if (state === current) return;
      transitions.labels({ component, from: current, to: state }).inc();
      current = state;
      gauge.set(value);
    },
    failure: (count = 1) => failures.inc(count),
  };
}

/** Thrown by {@linkcode CircuitBreaker.call} instead of calling while the circuit is open. */
export class CircuitOpenError extends Error {
  /** The breaker's name. */
  readonly component: string;
  /** The state that rejected the call: `open`, or `half_open` with its trials in flight. */
  readonly state: CircuitState;

  /**
   * An error for a call the breaker rejected.
   *
   * @param component The breaker's name.
   * @param state The state that rejected the call.
   */
  constructor(component: string, state: CircuitState) {
    super(
      `Cannot call through circuit breaker "${component}": it is ${
        state === "open" ? "open" : "half open with its trial calls in flight"
      }`,
    );
    this.name = "CircuitOpenError";
    this.component = component;
    this.state = state;
  }
}

/** Options of {@linkcode CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit, at least 1. */
  readonly failureThreshold: number;
  /** Milliseconds the circuit stays open before trial calls go through. */
  readonly resetTimeoutMs: number;
  /** Trial calls let through at once while half open. @default {1} */
  readonly halfOpenMax?: number;
  /** The clock, in milliseconds; monotonic, so a wall-clock step cannot hold the circuit open. @default {performance.now} */
  readonly now?: () => number;
}

/**
 * A small circuit breaker that reports itself through
 * {@linkcode circuitBreakerMetrics}. Closed, it counts consecutive
 * failures and opens at `failureThreshold`; open, it rejects calls with
 * {@linkcode CircuitOpenError} without running them; `resetTimeoutMs`
 * after opening, the next call finds it half open and goes through as a
 * trial (up to `halfOpenMax` at once): a success closes it, a failure
 * opens it again. Outcomes of calls started before the last change of
 * state are counted as failures but do not move it.
 *
 * The open state ends at the first call or `state` read after the
 * timeout, not on a timer, so an idle breaker keeps reporting open.
 *
 * @example Open after two failures, close after a trial succeeds
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { CircuitBreaker, circuitBreakerMetrics, CircuitOpenError } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * let clock = 0;
 * const breaker = new CircuitBreaker(
 *   circuitBreakerMetrics(registry, { name: "payments" }),
 *   { failureThreshold: 2, resetTimeoutMs: 30_000, now: () => clock },
 * );
 * const fail = () => Promise.reject(new Error("down"));
 * await assert.rejects(breaker.call(fail), /down/);
 * await assert.rejects(breaker.call(fail), /down/);
 * assert.equal(breaker.state, "open");
 * assert.throws(() => breaker.call(() => "not run"), CircuitOpenError);
 * clock += 30_000;
 * assert.equal(await breaker.call(async () => "ok"), "ok");
 * assert.equal(breaker.state, "closed");
 * await registry.close();
 * ```
 */
export class CircuitBreaker {
  readonly #metrics: CircuitBreakerMetrics;
  readonly #threshold: number;
  readonly #resetMs: number;
  readonly #halfOpenMax: number;
  readonly #now: () => number;
  #state: CircuitState = "closed";
  #failures = 0;
  #openedAt = 0;
  #trials = 0;
  /** Bumped on every change, so late outcomes of older calls are told apart. */
  #generation = 0;

  /**
   * A closed breaker that reports itself through `metrics`.
   *
   * @param metrics Where the breaker reports its state and failures.
   * @param options Its threshold, timeout and clock.
   * @throws {TypeError} When an option has the wrong type.
   * @throws {RangeError} When a number is out of range.
   */
  constructor(metrics: CircuitBreakerMetrics, options: CircuitBreakerOptions) {
    const subject = "a circuit breaker";
    this.#metrics = metrics;
    this.#threshold = countOption(
      subject,
      "failureThreshold",
      options?.failureThreshold,
      1,
    );
    this.#resetMs = numberOption(
      subject,
      "resetTimeoutMs",
      options.resetTimeoutMs,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    this.#halfOpenMax = countOption(
      subject,
      "halfOpenMax",
      options.halfOpenMax ?? 1,
      1,
    );
    const now = options.now ?? (() => performance.now());
    if (typeof now !== "function") {
      throw new TypeError(
        `Cannot create a circuit breaker: now must be a function, got ${typeof now}`,
      );
    }
    this.#now = now;
    metrics.state("closed");
  }

  /** The breaker's state, half open once the reset timeout has passed. */
  get state(): CircuitState {
    this.#refresh();
    return this.#state;
  }

  /**
   * Runs `fn` unless the circuit is open. A promise counts when it
   * settles; a sync function's throw counts at once.
   *
   * @param fn The call to protect; its result or error is passed through.
   * @returns What `fn` returns.
   * @throws {CircuitOpenError} Synchronously, without running `fn`, while
   * the circuit is open (in an async function, `await breaker.call(fn)`
   * turns it into a rejection).
   */
  call<T>(fn: () => T): T {
    this.#refresh();
    if (this.#state === "open") {
      throw new CircuitOpenError(this.#metrics.component, "open");
    }
    if (this.#state === "half_open") {
      if (this.#trials >= this.#halfOpenMax) {
        throw new CircuitOpenError(this.#metrics.component, "half_open");
      }
      this.#trials++;
    }
    const generation = this.#generation;
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.#settle(generation, false);
      throw error;
    }
    if (isThenable(result)) {
      return result.then(
        (value) => {
          this.#settle(generation, true);
          return value;
        },
        (error: unknown) => {
          this.#settle(generation, false);
          throw error;
        },
      ) as T;
    }
    this.#settle(generation, true);
    return result;
  }

  #refresh(): void {
    // Open, or half open with trials that never settled (a hung call counts
    // as a failed trial): after the timeout, a fresh trial may go through.
    if (
      this.#state !== "closed" &&
      this.#now() - this.#openedAt >= this.#resetMs
    ) {
      if (this.#state === "half_open") {
        if (this.#trials === 0) return;
        this.#metrics.failure();
        this.#move("open");
      }
      this.#move("half_open");
    }
  }

  #move(to: CircuitState): void {
    this.#state = to;
    this.#generation++;
    this.#failures = 0;
    this.#trials = 0;
    if (to === "open" || to === "half_open") this.#openedAt = this.#now();
    this.#metrics.state(to);
  }

  #settle(generation: number, ok: boolean): void {
    if (!ok) this.#metrics.failure();
    if (generation !== this.#generation) return;
    if (this.#state === "half_open") {
      this.#move(ok ? "closed" : "open");
    } else if (ok) {
      this.#failures = 0;
    } else if (++this.#failures >= this.#threshold) {
      this.#move("open");
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/** The events of an opossum breaker {@linkcode fromOpossum} listens to. */
export type OpossumEvent = "open" | "close" | "halfOpen" | "failure";

/**
 * What {@linkcode fromOpossum} needs of an `npm:opossum` `CircuitBreaker`:
 * its EventEmitter methods and state flags. Any emitter of these events fits.
 */
export interface OpossumLike {
  /** Adds a listener. */
  on(event: OpossumEvent, listener: () => void): unknown;
  /** Removes a listener. */
  removeListener(event: OpossumEvent, listener: () => void): unknown;
  /** Whether the breaker is open. */
  readonly opened: boolean;
  /** Whether the breaker is half open. */
  readonly halfOpen: boolean;
}

/**
 * Reports an `npm:opossum` breaker through {@linkcode circuitBreakerMetrics}:
 * its `open`, `close` and `halfOpen` events set the state and count the
 * transitions, its `failure` events (errors and timeouts) count failures.
 * Vigil does not depend on opossum; any object of its shape fits.
 *
 * @param breaker The opossum breaker.
 * @param metrics Where it reports.
 * @returns A function that removes the listeners.
 *
 * @example Wire an emitter that behaves as opossum
 * ```ts
 * import { EventEmitter } from "node:events";
 * import { Registry } from "@vigil/observe/metrics";
 * import { circuitBreakerMetrics, fromOpossum } from "@vigil/observe/kits";
 * import { sampleValue } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const breaker = Object.assign(new EventEmitter(), { opened: false, halfOpen: false });
 * const stop = fromOpossum(breaker, circuitBreakerMetrics(registry, { name: "search" }));
 * breaker.emit("failure");
 * breaker.emit("open");
 * assert.equal(await sampleValue(registry, "circuit_breaker_state", { component: "search" }), 1);
 * stop();
 * await registry.close();
 * ```
 */
export function fromOpossum(
  breaker: OpossumLike,
  metrics: CircuitBreakerMetrics,
): () => void {
  metrics.state(
    breaker.halfOpen ? "half_open" : breaker.opened ? "open" : "closed",
  );
  const listeners: [OpossumEvent, () => void][] = [
    ["open", () => metrics.state("open")],
    ["close", () => metrics.state("closed")],
    ["halfOpen", () => metrics.state("half_open")],
    ["failure", () => metrics.failure()],
  ];
  for (const [event, listener] of listeners) breaker.on(event, listener);
  return () => {
    for (const [event, listener] of listeners) {
      breaker.removeListener(event, listener);
    }
  };
}

/** Options of {@linkcode circuitBreakerKit}. */
export interface CircuitBreakerKitOptions {
  /** How long a breaker stays open before CircuitBreakerOpen fires. @default {"2m"} */
  readonly openFor?: string;
  /** CircuitBreakerOpen's severity. @default {"warning"} */
  readonly openSeverity?: "critical" | "warning";
}

/**
 * The circuit breaker kit's dashboard row and alert, for the generators.
 * CircuitBreakerOpen fires when a component's breaker has been open on
 * any instance for `openFor`.
 *
 * @param options The alert's duration and severity.
 * @returns The kit.
 * @throws {TypeError} When `openFor` is not a Prometheus duration or
 * `openSeverity` is not a severity.
 *
 * @example The kit's alert
 * ```ts
 * import { circuitBreakerKit } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * const kit = circuitBreakerKit({ openFor: "5m" });
 * assert.deepEqual(kit.alerts.map((a) => [a.name, a.for]), [["CircuitBreakerOpen", "5m"]]);
 * ```
 */
export function circuitBreakerKit(options: CircuitBreakerKitOptions = {}): Kit {
  const subject = "the circuit breaker kit";
  const openFor = options.openFor ?? "2m";
  const forMinutes = Math.ceil(
    durationOption(subject, "openFor", openFor) / 60,
  );
  const severity = options.openSeverity ?? "warning";
  if (severity !== "warning" && severity !== "critical") {
    throw new TypeError(
      `Cannot create ${subject}: openSeverity must be "warning" or "critical", got ${
        JSON.stringify(severity)
      }`,
    );
  }
  // Open for `openFor` less a minute at a time, between half-open trials:
  // silent unless the duration or the `== 1` is wrong.
  const flapping = (n: number) =>
    Array.from(
      { length: n + 1 },
      (_, i) => i % (forMinutes + 1) === forMinutes ? 2 : 1,
    ).join(" ");
  return {
    kind: "circuit_breaker",
    title: "Circuit breakers",
    marker: "circuit_breaker_state",
    families: [
      "circuit_breaker_state",
      "circuit_breaker_transitions_total",
      "circuit_breaker_failures_total",
    ],
    panels: [{
      title: "State",
      type: "stat",
      unit: "short",
      mappings: {
        "0": ["closed", "green"],
        "1": ["open", "red"],
        "2": ["half open", "orange"],
      },
      queries: [{
        expr: "max by (component) (circuit_breaker_state)",
        legend: "{{component}}",
      }],
    }, {
      title: "Transitions",
      type: "timeseries",
      unit: "ops",
      queries: [{
        expr:
          "sum by (component, from, to) (rate(circuit_breaker_transitions_total[$__rate_interval]))",
        legend: "{{component}} {{from}} → {{to}}",
      }],
    }, {
      title: "Failures",
      type: "timeseries",
      unit: "ops",
      queries: [{
        expr:
          "sum by (component) (rate(circuit_breaker_failures_total[$__rate_interval]))",
        legend: "{{component}}",
      }],
    }],
    recording: [],
    alerts: [{
      name: "CircuitBreakerOpen",
      // `== 1` before `max`, so one instance's half-open breaker (2) does
      // not hide another's open one.
      expr: "max by (job, component) (circuit_breaker_state == 1)",
      for: openFor,
      severity,
      format: "humanize",
      summary: (l) => `Circuit breaker ${l("component")} open on ${l("job")}`,
      description: (l) =>
        `Circuit breaker ${l("component")} of ${
          l("job")
        } has been open for ${openFor}: calls to ${l("component")} fail fast`,
      labels: { component: "payments" },
      byInstance: false,
      value: 1,
      firing: (n) => [{
        name: "circuit_breaker_state",
        labels: 'component="payments"',
        values: `1x${n}`,
      }],
      healthy: (n) => [{
        name: "circuit_breaker_state",
        labels: 'component="payments"',
        values: flapping(n),
      }],
      rangeMinutes: 0,
    }],
  };
}
