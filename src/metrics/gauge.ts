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
import type { ExpositionFormat } from "../base/exposition.ts";

/** Options of {@linkcode Registry.gauge}. */
export interface GaugeOptions<L extends string> extends MetricOptions<L> {
  /**
   * Called before each scrape to set the gauge from its source, such as a
   * queue length or a pool size. A callback that throws or rejects is logged
   * and counted, and the gauge keeps its last values.
   */
  collect?: (gauge: Gauge<L>) => void | Promise<void>;
}

/**
 * One series of a {@linkcode Gauge}: a value that goes up and down.
 * Obtain it from {@linkcode Gauge.labels} and keep it.
 */
export class GaugeChild {
  #value = 0;
  readonly #metric: string;
  readonly #refused: () => void;

  /** @ignore Created by {@linkcode Gauge.labels}. */
  constructor(metric: string, refused: () => void) {
    this.#metric = metric;
    this.#refused = refused;
  }

  /**
   * Sets the value. Any number is allowed, `NaN` and the infinities
   * included, written as `NaN`, `+Inf` and `-Inf`: a gauge states a value,
   * and Prometheus accepts these.
   *
   * @param value Any number.
   * @throws {TypeError} When `value` is not a number, such as the string `"2"`.
   *
   * @example Track a queue length
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const queue = registry.gauge({ name: "queue_length", help: "Jobs waiting", labelNames: ["queue"] });
   * const emails = queue.labels({ queue: "emails" });
   * emails.set(4);
   * emails.dec();
   * assert.equal(emails.value, 3);
   * ```
   */
  set(value: number): void {
    if (typeof value !== "number") {
      throw new TypeError(
        `Cannot set gauge "${this.#metric}" to ${
          stateValue(value)
        }: the value must be a number, got ${kindOf(value)}`,
      );
    }
    this.#value = value;
  }

  /**
   * Adds to the value. As with counters, an amount that would carry a finite
   * value past `Number.MAX_VALUE` is refused: the value stays, and the
   * refusal is counted in `vigil_values_refused_total{metric}`. A value set
   * to an infinity or `NaN` stays so.
   *
   * @param value A finite amount.
   * @throws {TypeError} When `value` is not a number.
   * @throws {RangeError} When `value` is NaN or infinite.
   */
  inc(value = 1): void {
    if (typeof value === "number") {
      const next = this.#value + value;
      if (Number.isFinite(next)) {
        this.#value = next;
        return;
      }
    }
    this.#unusual("increment", value);
  }

  /**
   * Subtracts from the value; refused and counted like
   * {@linkcode GaugeChild.inc} when a finite value would become infinite.
   *
   * @param value A finite amount.
   * @throws {TypeError} When `value` is not a number.
   * @throws {RangeError} When `value` is NaN or infinite.
   */
  dec(value = 1): void {
    if (typeof value === "number") {
      const next = this.#value - value;
      if (Number.isFinite(next)) {
        this.#value = next;
        return;
      }
    }
    this.#unusual("decrement", value);
  }

  /** Sets the value to the current Unix time in seconds. */
  setToCurrentTime(): void {
    this.#value = Date.now() / 1000;
  }

  /**
   * Starts a timer; the returned function sets the gauge to the seconds
   * elapsed and returns them.
   *
   * @returns The function that stops the timer.
   */
  startTimer(): () => number {
    const start = performance.now();
    return () => {
      const seconds = (performance.now() - start) / 1000;
      this.#value = seconds;
      return seconds;
    };
  }

  /** The current value. */
  get value(): number {
    return this.#value;
  }

  // Every unusual amount, out of line, so inc() and dec() stay small.
  #unusual(verb: "increment" | "decrement", value: unknown): void {
    if (typeof value !== "number") {
      throw new TypeError(
        `Cannot ${verb} gauge "${this.#metric}" by ${
          stateValue(value)
        }: the amount must be a finite number, got ${kindOf(value)}`,
      );
    }
    if (!Number.isFinite(value)) {
      throw new RangeError(
        `Cannot ${verb} gauge "${this.#metric}" by ${value}: the amount must be a finite number`,
      );
    }
    // An infinity or NaN set on purpose stays as it is; a finite value that
    // would become infinite is refused.
    if (Number.isFinite(this.#value)) this.#refused();
  }
}

/**
 * A value that goes up and down, such as requests in flight or memory in
 * use. Create it with {@linkcode Registry.gauge}.
 *
 * @typeParam L The label names.
 */
export class Gauge<L extends string = never> {
  /** The metric name. */
  readonly name: string;
  /** The help text. */
  readonly help: string;
  /** The label names, in the order they were declared. */
  readonly labelNames: readonly L[];
  readonly #series: SeriesSet<GaugeChild>;
  readonly #single: GaugeChild | undefined;
  readonly #collect: Collect<Gauge<L>> | undefined;
  readonly #context: RegistryContext;

  /** @ignore Created by {@linkcode Registry.gauge}. */
  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect: Collect<Gauge<L>> | undefined,
    context: RegistryContext,
  ) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.#collect = collect;
    this.#context = context;
    const refused = () => context.refused(name);
    this.#series = new SeriesSet(
      name,
      labelNames,
      context,
      () => new GaugeChild(name, refused),
    );
    this.#single = this.#series.unlabelled;
  }

  /**
   * Returns the series for a label set, creating it on first use.
   *
   * @param labels A value for every label name, and nothing else.
   * @returns The bound child.
   * @throws {TypeError} When a label is missing or unknown, or a value is neither string nor number.
   */
  labels(labels: Labels<L>): GaugeChild {
    return this.#series.get(labels);
  }

  /**
   * Sets a label-less gauge, as {@linkcode GaugeChild.set} does: any number,
   * `NaN` and the infinities included. This method and the other label-less
   * ones fail type-checking on a gauge declared with `labelNames` (their
   * `this` type is a label-less gauge) and throw at run time.
   *
   * @param value Any number.
   * @throws {TypeError} When the gauge has labels, or `value` is not a number.
   *
   * @example Track work in flight
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const inFlight = registry.gauge({ name: "jobs_in_flight", help: "Jobs running" });
   * inFlight.set(2);
   * inFlight.inc();
   * inFlight.dec(2);
   * assert.equal(inFlight.value, 1);
   * ```
   */
  set(this: Gauge<never>, value: number): void {
    (this.#single ?? this.#unlabelled()).set(value);
  }

  /**
   * Adds to a label-less gauge, as {@linkcode GaugeChild.inc} does.
   *
   * @param value A finite amount.
   * @throws {TypeError} When the gauge has labels, or `value` is not a number.
   * @throws {RangeError} When `value` is NaN or infinite.
   */
  inc(this: Gauge<never>, value = 1): void {
    (this.#single ?? this.#unlabelled()).inc(value);
  }

  /**
   * Subtracts from a label-less gauge, as {@linkcode GaugeChild.dec} does.
   *
   * @param value A finite amount.
   * @throws {TypeError} When the gauge has labels, or `value` is not a number.
   * @throws {RangeError} When `value` is NaN or infinite.
   */
  dec(this: Gauge<never>, value = 1): void {
    (this.#single ?? this.#unlabelled()).dec(value);
  }

  /**
   * Sets a label-less gauge to the current Unix time in seconds.
   * @throws {TypeError} When the gauge has labels.
   */
  setToCurrentTime(this: Gauge<never>): void {
    (this.#single ?? this.#unlabelled()).setToCurrentTime();
  }

  /**
   * Starts a timer on a label-less gauge.
   *
   * @returns The function that stops it, sets the gauge to the seconds elapsed and returns them.
   * @throws {TypeError} When the gauge has labels.
   */
  startTimer(this: Gauge<never>): () => number {
    return (this.#single ?? this.#unlabelled()).startTimer();
  }

  /**
   * The value of a label-less gauge. On a gauge declared with `labelNames`
   * its type is {@linkcode LabelsRequired}, not a number, so code that uses
   * it as a number fails type-checking; reading it throws.
   *
   * @throws {TypeError} When the gauge has labels.
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

  /** Sets a label-less gauge to zero, or forgets every series of a labelled one. */
  reset(): void {
    const child = this.#single;
    if (child === undefined) this.#series.clear();
    else child.set(0);
  }

  // Only reached when the metric has labels.
  #unlabelled(): never {
    return labelsRequired("gauge", this.name, this.labelNames);
  }

  /** @ignore The registry's view of the gauge. */
  [FAMILY](): Family {
    const render = (format: ExpositionFormat): string => {
      let out = renderHeader(this.name, "gauge", this.help, format);
      for (const { child, pairs } of this.#series) {
        out += `${this.name}${braces(pairs)} ${
          formatValue(child.value, format)
        }\n`;
      }
      return out;
    };
    return mainThreadFamily(
      { name: this.name, type: "gauge", sampleNames: [this.name] },
      render,
      { fn: this.#collect, target: this, context: this.#context },
    );
  }
}
