import type { AggregationPool } from "../aggregation/pool.ts";
import {
  EXEMPLAR,
  EXEMPLAR_RECORD,
  type FamilyDefinition,
} from "../aggregation/protocol.ts";
import { checkTrace, sampledSpan, type TraceRef } from "./trace.ts";
import { FAMILY, type Family, type RegistryContext } from "./_family.ts";
import { observedFamily, observedSeries, type Placement } from "./_observed.ts";
import { labelsRequired, type SeriesSet } from "./_series.ts";
import type { Labels, MetricOptions } from "./labels.ts";
import type { DistributionSnapshot } from "../base/snapshot.ts";
import type { Watch, WatchOptions } from "./model.ts";
import { kindOf, stateValue } from "./_values.ts";

/** Options shared by {@linkcode Registry.histogram} and {@linkcode Registry.summary}. */
export interface DistributionOptions<L extends string>
  extends MetricOptions<L> {
  /**
   * The smallest difference the percentiles of `snapshot()` resolve, in the
   * metric's unit: values are recorded into the HDR histogram as whole
   * multiples of it. The default is a microsecond for a metric in seconds;
   * the range then reaches 9e9 seconds. Values below zero count as zero
   * there (buckets, sum, min and max stay exact).
   * @default {1e-6}
   */
  resolution?: number;
}

/**
 * One series of a histogram or summary. Recording an
 * observation writes two numbers into a batch on the main thread; workers
 * aggregate the batches.
 */
export class DistributionChild {
  readonly #shard: Placement["shard"];
  readonly #id: number;
  readonly #metric: string;
  readonly #pool: AggregationPool;
  readonly #pairs: string;
  readonly #context: RegistryContext;

  /** @ignore Created by `labels()` of a histogram or summary. */
  constructor(
    metric: string,
    placement: Placement,
    pool: AggregationPool,
    pairs: string,
    context: RegistryContext,
  ) {
    this.#metric = metric;
    this.#shard = placement.shard;
    this.#id = placement.id;
    this.#pool = pool;
    this.#pairs = pairs;
    this.#context = context;
  }

  /**
   * Records an observation. The workers refuse one that would make the
   * series' sum infinite (it is counted in
   * `vigil_values_refused_total{metric}`), so `_sum` stays finite.
   *
   * @param value A finite number, in the metric's unit.
   * @throws {TypeError} When `value` is not a number, such as the string `"0.5"`.
   * @throws {RangeError} When `value` is NaN or infinite.
   *
   * @example Record latencies and read them back
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const latency = registry.histogram({ name: "latency_seconds", help: "Latency", labelNames: ["route"] });
   * const predict = latency.labels({ route: "/predict" });
   * predict.observe(0.042);
   * predict.observe(0.058);
   * const s = await predict.snapshot();
   * assert.equal(s.count, 2);
   * assert.equal(s.max, 0.058);
   * await registry.close();
   * ```
   */
  observe(value: number): void {
    if (!Number.isFinite(value)) this.#invalid(value);
    const shard = this.#shard;
    let pos = shard.pos;
    if (pos >= shard.end) {
      pos = shard.rotate();
      if (pos < 0) return;
    }
    const buf = shard.buf;
    buf[pos] = this.#id;
    buf[pos + 1] = value;
    shard.pos = pos + 2;
  }

  /**
   * Records an observation with the trace it was made in as its bucket's
   * exemplar (OpenMetrics output shows the latest of each bucket:
   * `x_bucket{le="0.5"} 12 # {trace_id="…",span_id="…"} 0.42 1764670000.123`).
   * The trace is `trace` or, left out, the active span's if it is sampled;
   * without either it is a plain {@linkcode DistributionChild.observe}. A
   * summary counts the observation and keeps no exemplar (it has no
   * buckets).
   * It costs a few hundred nanoseconds more than `observe()`: call it for
   * the observations worth linking to a trace (a request's duration), not
   * in a tight loop.
   *
   * @param value A finite number, in the metric's unit.
   * @param trace The trace and span ids, lowercase hex (32 and 16 digits).
   * @throws {TypeError} When `value` is not a number.
   * @throws {RangeError} When `value` is NaN or infinite, or a trace id is not hex of its length.
   *
   * @example An exemplar from given ids
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const latency = registry.histogram({ name: "work_seconds", help: "Work", buckets: [0.1, 1] });
   * latency.observeWithTrace(0.42, {
   *   traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
   *   spanId: "00f067aa0ba902b7",
   * });
   * assert.match(
   *   await registry.metrics({ format: "openmetrics" }),
   *   /^work_seconds_bucket\{le="1\.0"\} 1\.0 # \{trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"\} 0\.42 \d+\.\d+$/m,
   * );
   * await registry.close();
   * ```
   */
  observeWithTrace(
    value: number,
    trace?: TraceRef,
  ): void {
    if (!Number.isFinite(value)) this.#invalid(value);
    const ids = trace === undefined
      ? sampledSpan()
      : checkTrace(this.#metric, trace);
    if (ids === undefined) return this.observe(value);
    const { traceId, spanId } = ids;
    const shard = this.#shard;
    let pos = shard.pos;
    if (pos + EXEMPLAR_RECORD > shard.end) {
      pos = shard.rotate();
      if (pos < 0) return;
      // A batch too short for the record (batchSize under 5): the value
      // without its trace.
      if (pos + EXEMPLAR_RECORD > shard.end) return this.observe(value);
    }
    const buf = shard.buf;
    buf[pos] = EXEMPLAR;
    buf[pos + 1] = this.#id;
    buf[pos + 2] = value;
    for (let i = 0; i < 4; i++) {
      buf[pos + 3 + i] = parseInt(traceId.slice(i * 8, i * 8 + 8), 16);
    }
    buf[pos + 7] = parseInt(spanId.slice(0, 8), 16);
    buf[pos + 8] = parseInt(spanId.slice(8), 16);
    buf[pos + 9] = Date.now();
    shard.pos = pos + EXEMPLAR_RECORD;
  }

  /**
   * Starts a timer; the returned function observes the seconds elapsed and
   * returns them.
   *
   * @returns The function that stops the timer.
   */
  startTimer(): () => number {
    const start = performance.now();
    return () => {
      const seconds = (performance.now() - start) / 1000;
      this.observe(seconds);
      return seconds;
    };
  }

  /**
   * The series' figures, including every observation made before the call.
   *
   * @returns Count, sum, min, max, mean and percentiles.
   */
  async snapshot(): Promise<DistributionSnapshot> {
    const stats = await this.#pool.stats(this.#shard, this.#id);
    if (stats === undefined) {
      throw new RangeError(
        `Cannot read a series of "${this.#metric}": it was removed`,
      );
    }
    return stats;
  }

  /**
   * Runs a drift detector on the series' observations, in the worker that
   * aggregates them: each observation feeds it, in order, at no cost on the
   * main thread. Its warnings and drifts are exposed like a model's
   * (`ml_drift_state`, `ml_drift_score` and `ml_drift_detected_total` with
   * `model_name` the watch's name), logged, and passed to `onDrift`
   * subscribers. Only detectors of numbers can watch: `page_hinkley` and
   * `adwin`.
   *
   * @param options The detector (`kind` and its options) and the watch's name.
   * @returns The watch: its status, its events and a reset.
   * @throws {TypeError} When the kind or an option is unknown, or the name is taken.
   * @throws {RangeError} When an option is out of range, or the kind takes errors only.
   *
   * @example Watch a latency for a rise of its mean
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const latency = registry.histogram({ name: "predict_seconds", help: "Prediction latency" });
   * const watch = latency.watch({ kind: "page_hinkley", threshold: 5 });
   * for (let i = 0; i < 100; i++) latency.observe(0.01);
   * for (let i = 0; i < 100; i++) latency.observe(1);
   * const status = await watch.status();
   * assert.equal(status.name, "predict_seconds");
   * assert.ok(status.detectors[0]!.drifts >= 1);
   * await registry.close();
   * ```
   */
  watch(options: WatchOptions): Watch {
    return this.#context.watch(this.#metric, {
      shard: this.#shard,
      id: this.#id,
      pairs: this.#pairs,
    }, options);
  }

  /** @ignore Where the series is aggregated. */
  get placement(): Placement {
    return { shard: this.#shard, id: this.#id };
  }

  #invalid(value: unknown): never {
    if (typeof value !== "number") {
      throw new TypeError(
        `Cannot observe ${
          stateValue(value)
        } in "${this.#metric}": observations must be finite numbers, got ${
          kindOf(value)
        }`,
      );
    }
    throw new RangeError(
      `Cannot observe ${value} in "${this.#metric}": observations must be finite numbers`,
    );
  }
}

/**
 * What histograms and summaries share: series of observations aggregated
 * off the main thread. See {@linkcode Histogram} and {@linkcode Summary}.
 *
 * @typeParam L The label names.
 */
export class Distribution<L extends string = never> {
  /** The metric name. */
  readonly name: string;
  /** The help text. */
  readonly help: string;
  /** The label names, in the order they were declared. */
  readonly labelNames: readonly L[];
  readonly #series: SeriesSet<DistributionChild>;
  readonly #single: DistributionChild | undefined;
  readonly #family: Family;

  /** @ignore Created by a subclass. */
  constructor(
    definition: Omit<FamilyDefinition, "id">,
    help: string,
    labelNames: readonly L[],
    pool: AggregationPool,
    context: RegistryContext,
  ) {
    const { name } = definition;
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    const { family, series } = observedSeries(
      pool,
      definition,
      labelNames,
      context,
      (placement, pairs) =>
        new DistributionChild(name, placement, pool, pairs, context),
      (child) => child.placement,
    );
    this.#series = series;
    this.#single = series.unlabelled;
    this.#family = observedFamily(pool, family, definition, help);
  }

  /**
   * Returns the series for a label set, creating it on first use. Keep the
   * result: `observe()` on it does no lookup.
   *
   * @param labels A value for every label name, and nothing else.
   * @returns The bound child.
   * @throws {TypeError} When a label is missing or unknown, or a value is neither string nor number.
   */
  labels(labels: Labels<L>): DistributionChild {
    return this.#series.get(labels);
  }

  /**
   * Records an observation in a label-less metric, as
   * {@linkcode DistributionChild.observe} does. This method, `startTimer()`
   * and `snapshot()` fail type-checking on a metric declared with
   * `labelNames` (their `this` type is a label-less metric) and throw at run
   * time.
   *
   * @param value A finite number.
   * @throws {TypeError} When the metric has labels, or `value` is not a number.
   * @throws {RangeError} When `value` is NaN or infinite.
   *
   * @example Observe a label-less histogram
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const size = registry.histogram({ name: "payload_bytes", help: "Payload sizes", buckets: [100, 1000] });
   * size.observe(512);
   * assert.equal((await size.snapshot()).count, 1);
   * await registry.close();
   * ```
   */
  observe(this: Distribution<never>, value: number): void {
    (this.#single ?? this.#unlabelled()).observe(value);
  }

  /**
   * Records an observation with its trace as exemplar in a label-less
   * metric, as {@linkcode DistributionChild.observeWithTrace} does.
   *
   * @param value A finite number.
   * @param trace The trace and span ids; the active sampled span's when left out.
   * @throws {TypeError} When the metric has labels, or `value` is not a number.
   */
  observeWithTrace(
    this: Distribution<never>,
    value: number,
    trace?: TraceRef,
  ): void {
    (this.#single ?? this.#unlabelled()).observeWithTrace(value, trace);
  }

  /**
   * Starts a timer on a label-less metric.
   *
   * @returns The function that observes the seconds elapsed and returns them.
   * @throws {TypeError} When the metric has labels.
   */
  startTimer(this: Distribution<never>): () => number {
    return (this.#single ?? this.#unlabelled()).startTimer();
  }

  /**
   * The figures of a label-less metric.
   *
   * @returns Count, sum, min, max, mean and percentiles.
   * @throws {TypeError} When the metric has labels.
   */
  snapshot(this: Distribution<never>): Promise<DistributionSnapshot> {
    return (this.#single ?? this.#unlabelled()).snapshot();
  }

  /**
   * Runs a drift detector on a label-less metric's observations, as
   * {@linkcode DistributionChild.watch} does.
   *
   * @param options The detector and the watch's name.
   * @returns The watch.
   * @throws {TypeError} When the metric has labels.
   */
  watch(this: Distribution<never>, options: WatchOptions): Watch {
    return (this.#single ?? this.#unlabelled()).watch(options);
  }

  /**
   * The figures of every series, with its labels, each including every
   * observation made before the call.
   *
   * @returns One entry per series, in creation order.
   */
  snapshots(): Promise<
    { labels: Readonly<Record<L, string>>; snapshot: DistributionSnapshot }[]
  > {
    const names = this.#series.labelNames;
    return Promise.all(
      Array.from(this.#series, async ({ child, values }) => ({
        labels: Object.fromEntries(
          names.map((name, i) => [name, values[i]!]),
        ) as Record<L, string>,
        snapshot: await child.snapshot(),
      })),
    );
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

  #unlabelled(): never {
    return labelsRequired("metric", this.name, this.labelNames);
  }

  /** @ignore The registry's view of the metric. */
  [FAMILY](): Family {
    return this.#family;
  }
}
