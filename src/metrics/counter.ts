import {
  type Collect,
  FAMILY,
  type Family,
  mainThreadFamily,
  type RegistryContext,
} from "./_family.ts";
import { labelsRequired, SeriesSet } from "./_series.ts";
import type { Labels, LabelsRequired, MetricOptions } from "./labels.ts";
import { kindOf, stateValue } from "./_values.ts";
import { braces, formatValue, renderHeader } from "../base/_text.ts";
import { checkTrace, sampledSpan, type TraceRef } from "./trace.ts";
import type { ExpositionFormat } from "../base/exposition.ts";

/** Options of {@linkcode Registry.counter}. */
export interface CounterOptions<L extends string> extends MetricOptions<L> {
  /**
   * The metric name. A trailing `_total` is optional: `x` and `x_total` both
   * name family `x`, whose sample is `x_total`.
   */
  name: string;
  /**
   * Called before each scrape, for counters mirrored from another source;
   * it typically calls `inc()` with the growth since the last call.
   */
  collect?: (counter: Counter<L>) => void | Promise<void>;
}

/**
 * One series of a {@linkcode Counter}: a value that only goes up.
 * Obtain it from {@linkcode Counter.labels} and keep it: `inc()` on a bound
 * child does no label lookup.
 */
export class CounterChild {
  #value = 0;
  #exemplar: string | undefined;
  #created: number;
  readonly #metric: string;
  readonly #now: () => number;
  readonly #refused: () => void;

  /** @ignore Created by {@linkcode Counter.labels}. */
  constructor(metric: string, now: () => number, refused: () => void) {
    this.#metric = metric;
    this.#now = now;
    this.#refused = refused;
    this.#created = now() / 1000;
  }

  /**
   * Adds to the counter. An increment that would make the value infinite
   * (past `Number.MAX_VALUE`) is refused: the value stays as it was, and the
   * refusal is counted in `vigil_values_refused_total{metric}` and logged
   * once, so a runaway counter never becomes `+Inf` and never throws.
   *
   * @param value The increment, a finite number and not negative.
   * @throws {TypeError} When `value` is not a number, such as the string `"1"`.
   * @throws {RangeError} When `value` is negative, NaN or infinite.
   *
   * @example Count a request
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const requests = registry.counter({ name: "requests_total", help: "Requests", labelNames: ["method"] });
   * const get = requests.labels({ method: "GET" });
   * get.inc();
   * get.inc(2);
   * assert.equal(get.value, 3);
   * ```
   */
  inc(value = 1): void {
    if (typeof value === "number" && value >= 0) {
      const next = this.#value + value;
      if (next !== Infinity) {
        this.#value = next;
        return;
      }
    }
    this.#unusual(value);
  }

  /**
   * Adds to the counter, as {@linkcode CounterChild.inc}, and keeps the
   * trace it was made in as the series' exemplar (OpenMetrics output shows
   * the latest: `x_total 7.0 # {trace_id="…",span_id="…"} 1.0 1764670000.1`).
   * The trace is `trace` or, left out, the active span's if it is sampled;
   * without either it is a plain `inc()`.
   *
   * @param value The increment, a finite number and not negative.
   * @param trace The trace and span ids, lowercase hex (32 and 16 digits).
   * @throws {TypeError} When `value` is not a number.
   * @throws {RangeError} When `value` is negative, NaN or infinite, or a trace id is not hex of its length.
   */
  incWithTrace(value = 1, trace?: TraceRef): void {
    const ids = trace === undefined
      ? sampledSpan()
      : checkTrace(this.#metric, trace);
    const before = this.#value;
    this.inc(value);
    if (ids === undefined || this.#value === before && value !== 0) return;
    this.#exemplar = ` # {trace_id="${ids.traceId}",span_id="${ids.spanId}"} ${
      formatValue(value, "openmetrics")
    } ${formatValue(this.#now() / 1000, "openmetrics")}`;
  }

  /**
   * The latest exemplar as OpenMetrics writes it after the value.
   *
   * @ignore
   */
  get exemplar(): string | undefined {
    return this.#exemplar;
  }

  /** The current value. */
  get value(): number {
    return this.#value;
  }

  /** When the series was created or last reset, in seconds since the Unix epoch. */
  get created(): number {
    return this.#created;
  }

  /** Sets the value back to zero and restarts the `_created` time. */
  reset(): void {
    this.#value = 0;
    this.#exemplar = undefined;
    this.#created = this.#now() / 1000;
  }

  // Every unusual increment, out of line, so inc() stays a check and an add.
  #unusual(value: unknown): void {
    if (typeof value !== "number") {
      throw new TypeError(
        `Cannot increment counter "${this.#metric}" by ${
          stateValue(value)
        }: increments must be finite numbers and not negative, got ${
          kindOf(value)
        }`,
      );
    }
    if (!(value >= 0 && value !== Infinity)) {
      throw new RangeError(
        `Cannot increment counter "${this.#metric}" by ${value}: increments must be finite and not negative`,
      );
    }
    // Finite, but the sum is not: refused, so the counter stays usable.
    this.#refused();
  }
}

/**
 * A monotonically increasing count, such as requests served or errors seen.
 * Create it with {@linkcode Registry.counter}.
 *
 * @typeParam L The label names.
 */
export class Counter<L extends string = never> {
  /** The family name, without `_total`. */
  readonly name: string;
  /** The help text. */
  readonly help: string;
  /** The label names, in the order they were declared. */
  readonly labelNames: readonly L[];
  readonly #series: SeriesSet<CounterChild>;
  readonly #single: CounterChild | undefined;
  readonly #collect:
    | ((counter: Counter<L>) => void | Promise<void>)
    | undefined;
  readonly #context: RegistryContext;

  /** @ignore Created by {@linkcode Registry.counter}. */
  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect: Collect<Counter<L>> | undefined,
    context: RegistryContext,
  ) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.#collect = collect;
    this.#context = context;
    const sample = `${name}_total`;
    const refused = () => context.refused(name);
    this.#series = new SeriesSet(
      name,
      labelNames,
      context,
      () => new CounterChild(sample, context.now, refused),
    );
    this.#single = this.#series.unlabelled;
  }

  /**
   * Returns the series for a label set, creating it on first use. Keep the
   * result to make `inc()` a field update with no lookup.
   *
   * @param labels A value for every label name, and nothing else.
   * @returns The bound child.
   * @throws {TypeError} When a label is missing or unknown, or a value is neither string nor number.
   *
   * @example Bind once, increment often
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   *
   * const registry = new Registry();
   * const requests = registry.counter({ name: "http_requests_total", help: "Requests", labelNames: ["method", "status"] });
   * const ok = requests.labels({ method: "GET", status: 200 });
   * ok.inc();
   * ```
   */
  labels(labels: Labels<L>): CounterChild {
    return this.#series.get(labels);
  }

  /**
   * Adds to a label-less counter, as {@linkcode CounterChild.inc} does. On a
   * counter declared with `labelNames`, the call fails type-checking (its
   * `this` type is a label-less counter) and throws at run time.
   *
   * @param value The increment, a finite number and not negative.
   * @throws {TypeError} When the counter has labels, or `value` is not a number.
   * @throws {RangeError} When `value` is negative, NaN or infinite.
   *
   * @example Count jobs
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const jobs = registry.counter({ name: "jobs_total", help: "Jobs done" });
   * jobs.inc();
   * jobs.inc(2);
   * assert.equal(jobs.value, 3);
   * ```
   */
  inc(this: Counter<never>, value = 1): void {
    (this.#single ?? this.#unlabelled()).inc(value);
  }

  /**
   * The value of a label-less counter. On a counter declared with
   * `labelNames` its type is {@linkcode LabelsRequired}, not a number, so
   * code that uses it as a number fails type-checking; reading it throws.
   *
   * @throws {TypeError} When the counter has labels.
   */
  get value(): [L] extends [never] ? number : LabelsRequired {
    return (this.#single ?? this.#unlabelled()).value as [L] extends [never]
      ? number
      : LabelsRequired;
  }

  /**
   * Forgets the series of a label set, so it is no longer exposed.
   *
   * @param labels The label set.
   * @returns Whether the series existed.
   */
  remove(labels: Labels<L>): boolean {
    return this.#series.delete(labels);
  }

  /** Resets a label-less counter to zero, or forgets every series of a labelled one. */
  reset(): void {
    const child = this.#single;
    if (child === undefined) this.#series.clear();
    else child.reset();
  }

  // Only reached when the metric has labels.
  #unlabelled(): never {
    return labelsRequired("counter", this.name, this.labelNames);
  }

  /** @ignore The registry's view of the counter. */
  [FAMILY](): Family {
    const sample = `${this.name}_total`;
    const created = `${this.name}_created`;
    const render = (format: ExpositionFormat): string => {
      const om = format === "openmetrics";
      let out = renderHeader(
        om ? this.name : sample,
        "counter",
        this.help,
        format,
      );
      for (const { child, pairs } of this.#series) {
        const labels = braces(pairs);
        out += `${sample}${labels} ${formatValue(child.value, format)}${
          om ? child.exemplar ?? "" : ""
        }\n`;
        if (om) {
          out += `${created}${labels} ${formatValue(child.created, format)}\n`;
        }
      }
      return out;
    };
    return mainThreadFamily(
      { name: this.name, type: "counter", sampleNames: [sample, created] },
      render,
      { fn: this.#collect, target: this, context: this.#context },
    );
  }
}
