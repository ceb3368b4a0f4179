import {
  type Collect,
  FAMILY,
  type Family,
  mainThreadFamily,
  type RegistryContext,
} from "./_family.ts";
import { labelsRequired, SeriesSet } from "./_series.ts";
import type { Labels, MetricOptions } from "./labels.ts";
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

  /** @ignore Created by {@linkcode Gauge.labels}. */
  constructor(metric: string) {
    this.#metric = metric;
  }

  /**
   * Sets the value.
   *
   * @param value Any number; `NaN` and infinities are written as such.
   * @throws {TypeError} When `value` is not a number.
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
          String(value)
        }: the value must be a number`,
      );
    }
    this.#value = value;
  }

  /**
   * Adds to the value.
   *
   * @param value A finite amount.
   * @throws {RangeError} When `value` is NaN or infinite.
   */
  inc(value = 1): void {
    if (!Number.isFinite(value)) this.#invalid("increment", value);
    this.#value += value;
  }

  /**
   * Subtracts from the value.
   *
   * @param value A finite amount.
   * @throws {RangeError} When `value` is NaN or infinite.
   */
  dec(value = 1): void {
    if (!Number.isFinite(value)) this.#invalid("decrement", value);
    this.#value -= value;
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

  #invalid(verb: string, value: unknown): never {
    throw new RangeError(
      `Cannot ${verb} gauge "${this.#metric}" by ${
        String(value)
      }: the amount must be a finite number`,
    );
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
    this.#series = new SeriesSet(
      name,
      labelNames,
      context,
      () => new GaugeChild(name),
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
   * Sets a label-less gauge.
   *
   * @param value Any number.
   * @throws {TypeError} When the gauge has labels, or `value` is not a number.
   */
  set(value: number): void {
    (this.#single ?? this.#unlabelled()).set(value);
  }

  /**
   * Adds to a label-less gauge.
   *
   * @param value A finite amount.
   * @throws {TypeError} When the gauge has labels.
   * @throws {RangeError} When `value` is NaN or infinite.
   */
  inc(value = 1): void {
    (this.#single ?? this.#unlabelled()).inc(value);
  }

  /**
   * Subtracts from a label-less gauge.
   *
   * @param value A finite amount.
   * @throws {TypeError} When the gauge has labels.
   * @throws {RangeError} When `value` is NaN or infinite.
   */
  dec(value = 1): void {
    (this.#single ?? this.#unlabelled()).dec(value);
  }

  /**
   * Sets a label-less gauge to the current Unix time in seconds.
   * @throws {TypeError} When the gauge has labels.
   */
  setToCurrentTime(): void {
    (this.#single ?? this.#unlabelled()).setToCurrentTime();
  }

  /**
   * Starts a timer on a label-less gauge.
   *
   * @returns The function that stops it, sets the gauge to the seconds elapsed and returns them.
   * @throws {TypeError} When the gauge has labels.
   */
  startTimer(): () => number {
    return (this.#single ?? this.#unlabelled()).startTimer();
  }

  /**
   * The value of a label-less gauge.
   * @throws {TypeError} When the gauge has labels.
   */
  get value(): number {
    return (this.#single ?? this.#unlabelled()).value;
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
