import {
  FAMILY,
  type Family,
  OVERFLOW_REASON,
  type OverflowReason,
  type RegistryContext,
} from "./_family.ts";
import {
  validateBuckets,
  validateHelp,
  validateLabelName,
  validateLabelNames,
  validateMetricName,
} from "../base/_validation.ts";
import { Counter, type CounterOptions } from "./counter.ts";
import { DuplicateMetricError } from "./errors.ts";
import type { ExpositionFormat } from "../base/exposition.ts";
import { Gauge, type GaugeOptions } from "./gauge.ts";
import { Histogram, type HistogramOptions } from "./histogram.ts";
import { Summary, type SummaryOptions } from "./summary.ts";
import { DEFAULT_BUCKETS } from "./buckets.ts";
import { observedSampleNames, validateResolution } from "./_observed.ts";
import type { AggregateKind } from "../aggregation/protocol.ts";
import { AggregationPool } from "../aggregation/pool.ts";
import type { AggregationOptions, WorkerStatus } from "../aggregation/types.ts";
import { createLogger, type Logger } from "../base/log.ts";
import type { Model } from "./model.ts";
import type { ModelOptions } from "../drift/model_types.ts";
import { ModelMetrics } from "./_model_metrics.ts";
import {
  type CollectedFamily,
  collectedNames,
  type Collector,
} from "./collector.ts";
import { collectedProblem, renderCollected } from "./_collected.ts";

/** The line that ends an OpenMetrics exposition. */
const EOF = "# EOF\n";

/** The default of {@linkcode RegistryOptions.cardinalityLimit}. */
export const DEFAULT_CARDINALITY_LIMIT = 2000;

/** The default of {@linkcode RegistryOptions.maxLabelValueLength}. */
export const DEFAULT_MAX_LABEL_VALUE_LENGTH = 4096;

/** Options of {@linkcode Registry}. */
export interface RegistryOptions {
  /**
   * Labels added to every series of every metric, first, such as the
   * service name. Their names may not be used as metric label names.
   * @default {{}}
   */
  defaultLabels?: Readonly<Record<string, string>>;
  /**
   * The most series one metric keeps. Past it, a new label set is answered
   * with one overflow series whose label values are all `__overflow__`, so
   * totals stay right while memory stays bounded. Each such lookup is
   * counted in `vigil_cardinality_overflow_total{metric,reason="cardinality"}`
   * (a label set that is not kept is looked up anew each time, so a child
   * looked up three times counts three) and the first is logged.
   * @default {2000}
   */
  cardinalityLimit?: number;
  /**
   * The longest label value kept, in UTF-16 code units (a string's
   * `length`). A label set with a longer value is never stored: it is
   * answered with the metric's overflow series, and each such lookup is
   * counted in `vigil_cardinality_overflow_total{metric,reason="value_length"}`
   * and the first is logged. Default labels longer than this are refused.
   * @default {4096}
   */
  maxLabelValueLength?: number;
  /**
   * Where the registry logs overflows and failed collect callbacks.
   * @default {Vigil's logger (category `vigil.metrics`), written where LogTape is configured}
   */
  logger?: Logger;
  /**
   * The clock of counters' `_created` times, in milliseconds since the Unix
   * epoch; tests fix it to get stable output.
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * Tuning of the workers that aggregate histograms and summaries; they
   * start with the first histogram or summary.
   * @default {{}}
   */
  aggregation?: AggregationOptions;
}

/** Options of {@linkcode Registry.metrics}. */
export interface MetricsOptions {
  /**
   * The exposition format; see {@linkcode negotiateFormat} to pick it from
   * an `Accept` header.
   * @default {"prometheus"}
   */
  format?: ExpositionFormat;
}

/**
 * A set of metrics rendered together. Create one per process (or per test):
 * there is no global registry.
 *
 * @example Count requests and render both formats
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry({ defaultLabels: { service: "api" } });
 * const requests = registry.counter({
 *   name: "http_requests_total",
 *   help: "Requests served",
 *   labelNames: ["method", "status"],
 * });
 * requests.labels({ method: "GET", status: "200" }).inc();
 *
 * const text = await registry.metrics();
 * assert.match(text, /^http_requests_total\{service="api",method="GET",status="200"\} 1$/m);
 * const om = await registry.metrics({ format: "openmetrics" });
 * assert.match(om, /^# TYPE http_requests counter$/m);
 * assert.ok(om.endsWith("# EOF\n"));
 * await registry.close();
 * ```
 */
export class Registry {
  readonly #families = new Map<string, Family>();
  /** The metrics made by counter(), gauge(), histogram() and summary(). */
  readonly #metrics = new Map<
    string,
    Counter<string> | Gauge<string> | Histogram<string> | Summary<string>
  >();
  /** Vigil's own families, rendered after the user's. */
  readonly #internal: Family[] = [];
  /** Family and sample names in use, each mapped to the family that owns it. */
  readonly #names = new Map<string, string>();
  /** The collectors, in registration order, with the names they claimed. */
  readonly #collectors = new Map<Collector, readonly string[]>();
  readonly #context: RegistryContext;
  readonly #logger: Logger;
  readonly #overflows: Counter<"metric" | "reason">;
  readonly #collectErrors: Counter<"metric">;
  readonly #refusals: Counter<"metric">;
  /** Names of histograms and summaries by their aggregation family id. */
  readonly #aggregated = new Map<number, string>();
  /**
   * Refusals of each histogram and summary already added to
   * `vigil_values_refused_total`, by aggregation family id.
   */
  readonly #refusalsCounted = new Map<number, number>();
  readonly #warned = new Set<string>();
  readonly #aggregation: AggregationOptions;
  /** The model monitors, with their families: made with the first model. */
  #models: ModelMetrics | undefined;
  #pool: AggregationPool | undefined;
  #closed = false;

  /**
   * Creates an empty registry, holding only Vigil's own counters.
   *
   * @param options Default labels, limits, logger, clock and aggregation.
   * @throws {TypeError} When a default label name or value is invalid.
   * @throws {RangeError} When `cardinalityLimit` or `maxLabelValueLength` is
   * not a positive integer, or a default label value is longer than
   * `maxLabelValueLength`.
   */
  constructor(options: RegistryOptions = {}) {
    const defaults = options.defaultLabels ?? {};
    if (defaults === null || typeof defaults !== "object") {
      throw new TypeError(
        "Cannot create registry: defaultLabels must be an object of strings",
      );
    }
    const names = Object.keys(defaults).map((name) =>
      validateLabelName("defaultLabels", name)
    );
    const limit = options.cardinalityLimit ?? DEFAULT_CARDINALITY_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(
        `Cannot create registry: cardinalityLimit must be a positive integer, got ${limit}`,
      );
    }
    const maxLength = options.maxLabelValueLength ??
      DEFAULT_MAX_LABEL_VALUE_LENGTH;
    if (!Number.isInteger(maxLength) || maxLength < 1) {
      throw new RangeError(
        `Cannot create registry: maxLabelValueLength must be a positive integer, got ${maxLength}`,
      );
    }
    const values = names.map((name) => {
      const value = defaults[name];
      if (typeof value !== "string") {
        throw new TypeError(
          `Cannot create registry: default label "${name}" must be a string, got ${typeof value}`,
        );
      }
      if (value.length > maxLength) {
        throw new RangeError(
          `Cannot create registry: default label "${name}" is ${value.length} code units long: maxLabelValueLength is ${maxLength}`,
        );
      }
      // Stored well-formed, as metric label values are.
      return value.toWellFormed();
    });
    this.#logger = options.logger ?? createLogger("metrics");
    this.#aggregation = options.aggregation ?? {};
    this.#context = {
      defaultLabelNames: names,
      defaultLabelValues: values,
      cardinalityLimit: limit,
      maxLabelValueLength: maxLength,
      logger: this.#logger,
      now: options.now ?? Date.now,
      overflow: (metric, reason) => this.#overflow(metric, reason),
      refused: (metric) => this.#refused(metric),
      collectFailed: (metric, error) => this.#collectFailed(metric, error),
      watch: (metric, series, options) =>
        this.#modelMetrics().watch(metric, series, options),
    };
    this.#overflows = this.#internalCounter(
      "vigil_cardinality_overflow",
      "Lookups answered with a metric's overflow series, by reason: cardinality (the metric had reached its cardinality limit) or value_length (a label value was longer than maxLabelValueLength); a label set looked up again counts again",
      ["metric", "reason"],
    );
    this.#collectErrors = this.#internalCounter(
      "vigil_collect_errors",
      "Collect callbacks that threw or rejected during a scrape",
      ["metric"],
    );
    this.#refusals = this.#internalCounter(
      "vigil_values_refused",
      "Increments and observations refused because a counter or a sum would have become infinite",
      ["metric"],
      // Histograms and summaries: their workers refuse, the pool counts
      // (and logs the first refusal of each family).
      () => this.#countRefusals(),
    );
  }

  /**
   * Registers a counter.
   *
   * @typeParam L The label names, inferred from `labelNames`.
   * @param options Name, help, label names and an optional collect callback.
   * @returns The counter.
   * @throws {TypeError} When a name, label name or the help is invalid.
   * @throws {DuplicateMetricError} When the name or one of its samples is taken.
   *
   * @example A labelled counter
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   *
   * const registry = new Registry();
   * const errors = registry.counter({ name: "errors_total", help: "Errors", labelNames: ["type"] });
   * errors.labels({ type: "timeout" }).inc();
   * ```
   */
  counter<const L extends string = never>(
    options: CounterOptions<L>,
  ): Counter<L> {
    const name = validateMetricName(options?.name);
    const family = name.endsWith("_total") ? name.slice(0, -6) : name;
    if (family === "") {
      throw new TypeError(
        `Cannot register metric "${name}": a counter name needs a stem before "_total"`,
      );
    }
    const { help, labelNames } = this.#common(family, options);
    const counter = new Counter<L>(
      family,
      help,
      labelNames as readonly L[],
      options.collect,
      this.#context,
    );
    this.#register(counter[FAMILY]());
    this.#metrics.set(family, counter as unknown as Counter<string>);
    return counter;
  }

  /**
   * Registers a gauge.
   *
   * @typeParam L The label names, inferred from `labelNames`.
   * @param options Name, help, label names and an optional collect callback.
   * @returns The gauge.
   * @throws {TypeError} When a name, label name or the help is invalid.
   * @throws {DuplicateMetricError} When the name is taken.
   *
   * @example A gauge read at scrape time
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const jobs: string[] = ["a", "b"];
   * registry.gauge({ name: "jobs_pending", help: "Jobs pending", collect: (g) => g.set(jobs.length) });
   * assert.match(await registry.metrics(), /^jobs_pending 2$/m);
   * ```
   */
  gauge<const L extends string = never>(options: GaugeOptions<L>): Gauge<L> {
    const name = validateMetricName(options?.name);
    const { help, labelNames } = this.#common(name, options);
    const gauge = new Gauge<L>(
      name,
      help,
      labelNames as readonly L[],
      options.collect,
      this.#context,
    );
    this.#register(gauge[FAMILY]());
    this.#metrics.set(name, gauge as unknown as Gauge<string>);
    return gauge;
  }

  /**
   * Registers a histogram. Observations are batched on the main thread and
   * aggregated in workers: exact bucket counts, sum and count, and an HDR
   * histogram for the percentiles of `snapshot()`.
   *
   * @typeParam L The label names, inferred from `labelNames`.
   * @param options Name, help, label names, buckets and resolution.
   * @returns The histogram.
   * @throws {TypeError} When a name, label name or the help is invalid.
   * @throws {RangeError} When the buckets or the resolution are invalid.
   * @throws {DuplicateMetricError} When the name or one of its samples is taken.
   *
   * @example Time requests
   * ```ts
   * import { DEFAULT_BUCKETS, Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const latency = registry.histogram({
   *   name: "http_request_duration_seconds",
   *   help: "Request latency",
   *   labelNames: ["route"],
   *   buckets: DEFAULT_BUCKETS,
   * });
   * latency.labels({ route: "/predict" }).observe(0.042);
   * assert.match(
   *   await registry.metrics(),
   *   /^http_request_duration_seconds_bucket\{route="\/predict",le="0\.05"\} 1$/m,
   * );
   * await registry.close();
   * ```
   */
  histogram<const L extends string = never>(
    options: HistogramOptions<L>,
  ): Histogram<L> {
    const name = validateMetricName(options?.name);
    const { help, labelNames } = this.#common(name, options);
    const buckets = validateBuckets(name, options.buckets ?? DEFAULT_BUCKETS);
    const resolution = validateResolution(name, options.resolution);
    this.#checkFree(name, "histogram");
    const histogram = new Histogram<L>(
      name,
      help,
      labelNames as readonly L[],
      buckets,
      resolution,
      this.#aggregator(),
      this.#context,
    );
    this.#register(histogram[FAMILY]());
    this.#metrics.set(name, histogram as unknown as Histogram<string>);
    return histogram;
  }

  /**
   * Registers a summary: quantiles over a sliding window, aggregated in
   * workers like a histogram's.
   *
   * @typeParam L The label names, inferred from `labelNames`.
   * @param options Name, help, label names, quantiles and window.
   * @returns The summary.
   * @throws {TypeError} When a name, label name or the help is invalid.
   * @throws {RangeError} When the quantiles, window or resolution are invalid.
   * @throws {DuplicateMetricError} When the name or one of its samples is taken.
   *
   * @example Prediction confidence over ten minutes
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const confidence = registry.summary({
   *   name: "ml_prediction_confidence",
   *   help: "Confidence of predictions",
   *   quantiles: [0.5, 0.9, 0.99],
   *   maxAgeSeconds: 600,
   *   ageBuckets: 5,
   *   resolution: 1e-4,
   * });
   * confidence.observe(0.9);
   * assert.match(await registry.metrics(), /^ml_prediction_confidence\{quantile="0\.5"\} 0\.9$/m);
   * await registry.close();
   * ```
   */
  summary<const L extends string = never>(
    options: SummaryOptions<L>,
  ): Summary<L> {
    const name = validateMetricName(options?.name);
    const { help, labelNames } = this.#common(name, options);
    const quantiles = validateQuantiles(name, options.quantiles);
    const maxAgeSeconds = options.maxAgeSeconds ?? 600;
    if (!(Number.isFinite(maxAgeSeconds) && maxAgeSeconds > 0)) {
      throw new RangeError(
        `Cannot register metric "${name}": maxAgeSeconds must be finite and positive, got ${maxAgeSeconds}`,
      );
    }
    const ageBuckets = options.ageBuckets ?? 5;
    if (!(Number.isInteger(ageBuckets) && ageBuckets >= 1)) {
      throw new RangeError(
        `Cannot register metric "${name}": ageBuckets must be a positive integer, got ${ageBuckets}`,
      );
    }
    const resolution = validateResolution(name, options.resolution);
    this.#checkFree(name, "summary");
    const summary = new Summary<L>(
      name,
      help,
      labelNames as readonly L[],
      { quantiles, maxAgeSeconds, ageBuckets },
      resolution,
      this.#aggregator(),
      this.#context,
    );
    this.#register(summary[FAMILY]());
    this.#metrics.set(name, summary as unknown as Summary<string>);
    return summary;
  }

  /**
   * Creates a model monitor: a confusion matrix and drift detectors that
   * run in an aggregation worker, fed by `model.record()` through the same
   * batches as histogram observations, in the order recorded. The first
   * model registers the `ml_*` families: `ml_model_accuracy`,
   * `ml_model_precision`, `ml_model_recall` and `ml_model_f1_score`
   * (`window="recent"` and `"lifetime"`), `ml_predictions_total`,
   * `ml_prediction_confidence`, `ml_drift_state`, `ml_drift_score`,
   * `ml_drift_detected_total` and the `ml_training_*` metrics.
   *
   * @param options The name, classes, window and detectors.
   * @returns The model's handle.
   * @throws {TypeError} When a field has the wrong type, a detector an
   * unknown kind or option, or the name is taken.
   * @throws {RangeError} When a value is out of range.
   *
   * @example Watch a classifier's error rate with DDM
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const model = registry.model({
   *   name: "fraud",
   *   classes: [0, 1],
   *   detectors: [{ kind: "ddm" }, { kind: "adwin", input: "confidence" }],
   * });
   * const drifts: number[] = [];
   * model.onDrift((event) => drifts.push(event.updates));
   * for (let i = 0; i < 200; i++) model.record(i % 10 === 0 ? 1 : 0, 0, 0.9);
   * for (let i = 0; i < 100; i++) model.record(1, 0, 0.6);
   * const status = await model.status();
   * assert.equal(status.predictions, 300);
   * assert.equal(status.detectors[0]!.drifts, 1);
   * assert.match(await registry.metrics(), /^ml_model_accuracy\{model_name="fraud",window="lifetime"\} 0\.6$/m);
   * await registry.close();
   * ```
   */
  model(options: ModelOptions): Model {
    if (this.#closed) {
      throw new TypeError(
        `Cannot create model "${options?.name}": the registry is closed`,
      );
    }
    return this.#modelMetrics().create(options);
  }

  /**
   * The models created so far.
   *
   * @returns Their handles, in creation order.
   */
  models(): Model[] {
    return this.#models?.models() ?? [];
  }

  /**
   * A model by name.
   *
   * @param name The name it was created with.
   * @returns Its handle, or undefined when there is none.
   */
  getModel(name: string): Model | undefined {
    return this.#models?.get(name);
  }

  #modelMetrics(): ModelMetrics {
    return this.#models ??= new ModelMetrics({
      pool: this.#aggregator(),
      context: this.#context,
      checkFree: (name, sampleNames) => this.#checkNames(name, sampleNames),
      register: (family) => this.#register(family),
      counter: (name, help, labelNames) =>
        this.counter({ name, help, labelNames }),
      gauge: (name, help, labelNames) => this.gauge({ name, help, labelNames }),
      histogram: (name, help, labelNames, buckets) =>
        this.histogram({ name, help, labelNames, buckets }),
      internalCounter: (name, help, labelNames) =>
        this.#internalCounter(name, help, labelNames),
    });
  }

  /**
   * Removes a metric, so it is no longer rendered and its name is free. A
   * histogram or summary is dropped from the aggregation workers too, with
   * every series and its memory; observations still made through a child
   * kept from it are ignored. A metric registered again under the name
   * starts from zero.
   *
   * @param name The name the metric was registered with.
   * @returns Whether a metric was removed.
   *
   * @example Unregister a histogram and register it anew
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const old = registry.histogram({ name: "job_seconds", help: "Jobs" });
   * old.observe(2);
   * assert.equal(registry.unregister("job_seconds"), true);
   * assert.doesNotMatch(await registry.metrics(), /job_seconds/);
   * old.observe(3); // goes nowhere
   * registry.histogram({ name: "job_seconds", help: "Jobs" });
   * assert.match(await registry.metrics(), /^job_seconds_count 0$/m);
   * await registry.close();
   * ```
   */
  unregister(name: string): boolean {
    const family = this.#families.get(name) ??
      (name.endsWith("_total")
        ? this.#families.get(name.slice(0, -6))
        : undefined);
    if (family === undefined) return false;
    this.#families.delete(family.name);
    this.#metrics.delete(family.name);
    for (const [key, owner] of this.#names) {
      if (owner === family.name) this.#names.delete(key);
    }
    const id = family.aggregationId;
    if (id !== undefined) {
      // Counted before the pool forgets them, so the cumulative counter
      // keeps them. Refusals after the workers' last snapshot are lost.
      this.#countRefusals();
      this.#aggregated.delete(id);
      this.#refusalsCounted.delete(id);
      this.#pool?.removeFamily(id);
    }
    return true;
  }

  /**
   * The metric registered under `name` by {@linkcode Registry.counter},
   * {@linkcode Registry.gauge}, {@linkcode Registry.histogram} or
   * {@linkcode Registry.summary}: to share one metric between parts of an
   * application that cannot pass it along (as prom-client's
   * `getSingleMetric`). A counter is found with or without `_total`.
   *
   * @param name The metric's name.
   * @returns The metric, or `undefined` when none of these has that name.
   *
   * @example Reuse a counter another module registered
   * ```ts
   * import { Counter, Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * registry.counter({ name: "jobs_total", help: "Jobs", labelNames: ["queue"] });
   * const jobs = registry.getMetric("jobs_total");
   * assert.ok(jobs instanceof Counter);
   * assert.deepEqual(jobs.labelNames, ["queue"]);
   * assert.equal(registry.getMetric("missing"), undefined);
   * await registry.close();
   * ```
   */
  getMetric(
    name: string,
  ):
    | Counter<string>
    | Gauge<string>
    | Histogram<string>
    | Summary<string>
    | undefined {
    return this.#metrics.get(name) ??
      (name.endsWith("_total")
        ? this.#metrics.get(name.slice(0, -6))
        : undefined);
  }

  /**
   * Registers a {@linkcode Collector}: its families are collected and
   * rendered at each scrape, after the registry's metrics and before
   * Vigil's own. The names of `describe()` are claimed now, as a metric's.
   *
   * @param collector The collector.
   * @returns A function that unregisters it (freeing its names) and tells
   *   whether it was still registered.
   * @throws {TypeError} When the collector lacks `describe` or `collect`,
   *   describes an invalid name, is registered already, or the registry is
   *   closed.
   * @throws {DuplicateMetricError} When a described name is taken.
   *
   * @example Register and unregister a collector
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const unregister = registry.register({
   *   describe: () => ["build_info"],
   *   collect: () => [{
   *     name: "build_info",
   *     type: "gauge",
   *     help: "The build",
   *     samples: [{ name: "build_info", labelNames: ["version"], labelValues: ["1.2.0"], value: 1 }],
   *   }],
   * });
   * assert.match(await registry.metrics(), /^build_info\{version="1\.2\.0"\} 1$/m);
   * assert.throws(() => registry.gauge({ name: "build_info", help: "Taken" }));
   * unregister();
   * registry.gauge({ name: "build_info", help: "Free again" });
   * await registry.close();
   * ```
   */
  register(collector: Collector): () => boolean {
    if (
      collector === null || typeof collector !== "object" ||
      typeof collector.describe !== "function" ||
      typeof collector.collect !== "function"
    ) {
      throw new TypeError(
        "Cannot register collector: it must have describe() and collect() methods",
      );
    }
    if (this.#closed) {
      throw new TypeError("Cannot register collector: the registry is closed");
    }
    if (this.#collectors.has(collector)) {
      throw new TypeError(
        "Cannot register collector: it is registered already",
      );
    }
    const described = collector.describe();
    if (!Array.isArray(described)) {
      throw new TypeError(
        "Cannot register collector: describe() must return an array of metric names",
      );
    }
    const families = new Map<string, string[]>();
    for (const entry of described) {
      const name = validateMetricName(
        typeof entry === "string" ? entry : entry?.name,
      );
      const samples = typeof entry === "string"
        ? []
        : collectedNames(name, entry.type).filter((n) => n !== name);
      families.set(name, samples);
    }
    for (const [name, samples] of families) this.#checkNames(name, samples);
    const names: string[] = [];
    for (const [name, samples] of families) {
      for (const claimed of [name, ...samples]) {
        this.#names.set(claimed, name);
        names.push(claimed);
      }
    }
    this.#collectors.set(collector, names);
    return () => {
      const claimed = this.#collectors.get(collector);
      if (claimed === undefined) return false;
      this.#collectors.delete(collector);
      for (const name of claimed) this.#names.delete(name);
      return true;
    };
  }

  /**
   * Whether a name is taken in this registry: a metric's family or sample
   * name, or a name a collector described. A collector emitting names known
   * only at scrape time can refuse the taken ones early.
   *
   * @param name A family or sample name.
   * @returns Whether a metric or collector owns it.
   *
   * @example A counter takes its family and sample names
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * registry.counter({ name: "jobs_total", help: "Jobs" });
   * assert.equal(registry.hasName("jobs_total"), true);
   * assert.equal(registry.hasName("jobs_created"), true);
   * assert.equal(registry.hasName("jobs_running"), false);
   * ```
   */
  hasName(name: string): boolean {
    return this.#names.has(name);
  }

  /**
   * The default labels, which the registry adds at render to every
   * collected sample lacking a label of that name: a collector that must
   * keep its series distinct checks them with these applied.
   *
   * @returns A fresh object of the default labels, in their order.
   *
   * @example Read the default labels
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry({ defaultLabels: { region: "eu" } });
   * assert.deepEqual(registry.defaultLabels(), { region: "eu" });
   * ```
   */
  defaultLabels(): Record<string, string> {
    const { defaultLabelNames, defaultLabelValues } = this.#context;
    const labels: Record<string, string> = {};
    for (let i = 0; i < defaultLabelNames.length; i++) {
      labels[defaultLabelNames[i]!] = defaultLabelValues[i]!;
    }
    return labels;
  }

  /**
   * Renders every metric in one exposition format. Collect callbacks run
   * first; the families follow in registration order, never interleaved.
   *
   * @param options The format.
   * @returns The exposition text; OpenMetrics ends with `# EOF`.
   */
  async metrics(options: MetricsOptions = {}): Promise<string> {
    const blocks = await this.#render(
      options,
      (family, format) => family.render(format),
    );
    return blocks.join("") + (options.format === "openmetrics" ? EOF : "");
  }

  /**
   * What {@linkcode Registry.metrics} renders, in parts to write one after
   * the other: the text rendered on the main thread as strings (runs of
   * families joined), the samples of histograms and summaries as the UTF-8
   * buffers their workers rendered into, neither decoded nor copied. A
   * server answering a large scrape can then hold its text once, where
   * `metrics()` holds it decoded and joined (`metricsHandler()` does so
   * past 1 MB of worker text).
   *
   * @param options The format.
   * @returns The parts, in order.
   *
   * @example The same text as metrics()
   * ```ts
   * import { Registry } from "@vigil/observe/metrics";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * registry.histogram({ name: "work_seconds", help: "Work" }).observe(0.2);
   * const parts = await registry.metricsParts();
   * assert.equal(await new Blob(parts).text(), await registry.metrics());
   * await registry.close();
   * ```
   */
  async metricsParts(
    options: MetricsOptions = {},
  ): Promise<(string | Uint8Array<ArrayBuffer>)[]> {
    const blocks = await this.#render<string | Uint8Array<ArrayBuffer>[]>(
      options,
      (family, format) =>
        family.renderChunks?.(format) ?? family.render(format),
    );
    if (options.format === "openmetrics") blocks.push(EOF);
    const parts: (string | Uint8Array<ArrayBuffer>)[] = [];
    let run: string[] = [];
    for (const block of blocks) {
      if (typeof block === "string") {
        run.push(block);
        continue;
      }
      if (run.length > 0) parts.push(run.join(""));
      run = [];
      parts.push(...block);
    }
    if (run.length > 0) parts.push(run.join(""));
    return parts;
  }

  /**
   * Each family's block, in registration order, then Vigil's own counters.
   * Families aggregated in workers go first: their request goes out before
   * the main thread spends its time on its own families.
   */
  async #render<T>(
    options: MetricsOptions,
    render: (family: Family, format: ExpositionFormat) => T | Promise<T>,
  ): Promise<(T | string)[]> {
    if (this.#closed) {
      throw new Error("Cannot render metrics: the registry is closed");
    }
    const format = options.format ?? "prometheus";
    if (format !== "prometheus" && format !== "openmetrics") {
      throw new TypeError(
        `Cannot render metrics: unknown format ${
          JSON.stringify(format)
        }: expected "prometheus" or "openmetrics"`,
      );
    }
    const families = [...this.#families.values()];
    const pending = new Map<Family, T | Promise<T>>();
    for (const family of families) {
      if (family.aggregationId !== undefined) {
        pending.set(family, render(family, format));
      }
    }
    const blocks: (T | string)[] = await Promise.all(
      families.map((family) => pending.get(family) ?? render(family, format)),
    );
    if (this.#collectors.size > 0) {
      blocks.push(...await this.#renderCollectors(format));
    }
    // Vigil's own counters last, so they include this scrape's failures.
    for (const family of this.#internal) {
      blocks.push(await render(family, format));
    }
    return blocks;
  }

  /**
   * The collectors' blocks, in registration order. A collector that throws,
   * or a family that is malformed or whose names are taken (by a metric,
   * another collector's description or a family rendered before it in this
   * scrape), is left out and counted in `vigil_collect_errors_total`.
   */
  async #renderCollectors(format: ExpositionFormat): Promise<string[]> {
    const entries = [...this.#collectors];
    const results = await Promise.all(entries.map(async ([collector]) => {
      try {
        return { families: [...await collector.collect()] };
      } catch (error) {
        return { error };
      }
    }));
    const blocks: string[] = [];
    const emitted = new Set<string>();
    const goodLabels = new Set<string>();
    const { defaultLabelNames, defaultLabelValues } = this.#context;
    for (let i = 0; i < entries.length; i++) {
      const [, claimed] = entries[i]!;
      const result = results[i]!;
      if (!("families" in result)) {
        this.#collectorFailed(claimed[0] ?? "collector", result.error);
        continue;
      }
      for (const family of result.families as CollectedFamily[]) {
        const problem = collectedProblem(
          family,
          goodLabels,
          defaultLabelNames,
          defaultLabelValues,
        );
        if (problem !== undefined) {
          this.#collectorFailed(
            typeof family?.name === "string" ? family.name : "collector",
            new TypeError(`Cannot render collected family: ${problem}`),
          );
          continue;
        }
        const names = collectedNames(family.name, family.type);
        const taken = names.find((name) =>
          emitted.has(name) ||
          (this.#names.has(name) && !claimed.includes(name))
        );
        if (taken !== undefined) {
          this.#collectorFailed(
            family.name,
            new DuplicateMetricError(
              family.name,
              `Cannot render collected family "${family.name}": its name "${taken}" is taken`,
            ),
          );
          continue;
        }
        for (const name of names) emitted.add(name);
        blocks.push(
          renderCollected(
            family,
            format,
            defaultLabelNames,
            defaultLabelValues,
          ),
        );
      }
    }
    return blocks;
  }

  /**
   * How the aggregation workers are doing: empty until the first histogram
   * or summary starts them. Cheap: it reads what the heartbeat last saw.
   *
   * @returns One entry per worker.
   */
  workers(): WorkerStatus[] {
    return this.#pool?.status() ?? [];
  }

  /** Whether {@linkcode Registry.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Stops the aggregation workers and timers. Idempotent. Afterwards the
   * registry renders nothing and registers nothing; bound counters and
   * gauges still count, and observations are ignored.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#pool?.close();
    }
    return Promise.resolve();
  }

  /** The aggregation pool, started with the first histogram or summary. */
  #aggregator(): AggregationPool {
    if (this.#pool !== undefined) return this.#pool;
    const pool = new AggregationPool(this.#aggregation, this.#logger);
    this.#pool = pool;
    let restarts = 0;
    this.#internalCounter(
      "vigil_worker_restarts",
      "Aggregation workers restarted after they failed",
      [],
      (counter) => {
        counter.inc(pool.restarts - restarts);
        restarts = pool.restarts;
      },
    );
    let dropped = 0;
    this.#internalCounter(
      "vigil_observations_dropped",
      "Observations dropped because every batch slot waited for its worker",
      [],
      (counter) => {
        counter.inc(pool.dropped - dropped);
        dropped = pool.dropped;
      },
    );
    return pool;
  }

  // Labelled by metric name (and reason) at most, so bounded by the number
  // of metrics: exempt from the label limits, which would otherwise report
  // into themselves.
  #internalCounter<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect?: (counter: Counter<L>) => void,
  ): Counter<L> {
    const counter = new Counter<L>(name, help, labelNames, collect, {
      ...this.#context,
      cardinalityLimit: Number.POSITIVE_INFINITY,
      maxLabelValueLength: Number.POSITIVE_INFINITY,
    });
    const family = counter[FAMILY]();
    this.#claim(family);
    this.#internal.push(family);
    return counter;
  }

  #common(
    family: string,
    options: { help?: unknown; labelNames?: readonly unknown[] },
  ): { help: string; labelNames: readonly string[] } {
    if (this.#closed) {
      throw new TypeError(
        `Cannot register metric "${family}": the registry is closed`,
      );
    }
    const help = validateHelp(family, options.help);
    if (help.trim() === "") {
      throw new TypeError(
        `Cannot register metric "${family}": help must not be empty`,
      );
    }
    return {
      help,
      labelNames: validateLabelNames(
        family,
        options.labelNames,
        new Set(this.#context.defaultLabelNames),
      ),
    };
  }

  #register(family: Family): void {
    this.#claim(family);
    this.#families.set(family.name, family);
    if (family.aggregationId !== undefined) {
      this.#aggregated.set(family.aggregationId, family.name);
    }
  }

  #claim(family: Family): void {
    this.#checkNames(family.name, family.sampleNames);
    for (const name of [family.name, ...family.sampleNames]) {
      this.#names.set(name, family.name);
    }
  }

  /** Fails before a histogram or summary defines anything in the workers. */
  #checkFree(name: string, kind: AggregateKind): void {
    this.#checkNames(name, observedSampleNames(kind, name));
  }

  #checkNames(family: string, sampleNames: readonly string[]): void {
    for (const name of [family, ...sampleNames]) {
      const owner = this.#names.get(name);
      if (owner === undefined) continue;
      throw new DuplicateMetricError(
        family,
        owner === family
          ? `Cannot register metric "${family}": a metric with this name already exists`
          : `Cannot register metric "${family}": its name "${name}" clashes with metric "${owner}"`,
      );
    }
  }

  #overflow(metric: string, reason: OverflowReason): void {
    this.#overflows.labels({ metric, reason }).inc();
    if (reason === OVERFLOW_REASON.cardinality) {
      this.#warnOnce(
        `overflow:${reason}:${metric}`,
        "Metric reached its cardinality limit: new label sets go to the overflow series",
        {
          event: "metrics.cardinality_overflow",
          metric,
          limit: this.#context.cardinalityLimit,
        },
      );
    } else {
      this.#warnOnce(
        `overflow:${reason}:${metric}`,
        "Label value longer than maxLabelValueLength: its label set goes to the overflow series",
        {
          event: "metrics.label_value_too_long",
          metric,
          limit: this.#context.maxLabelValueLength,
        },
      );
    }
  }

  /** Adds what the workers refused since the last call to the counter. */
  #countRefusals(): void {
    const totals = this.#pool?.refusedByFamily();
    if (totals === undefined) return;
    for (const [id, total] of totals) {
      const metric = this.#aggregated.get(id);
      const growth = total - (this.#refusalsCounted.get(id) ?? 0);
      if (metric === undefined || !(growth > 0)) continue;
      this.#refusalsCounted.set(id, total);
      this.#refusals.labels({ metric }).inc(growth);
    }
  }

  #refused(metric: string): void {
    this.#refusals.labels({ metric }).inc();
    this.#warnOnce(
      `refused:${metric}`,
      "Value change refused: it would have made the metric's value infinite",
      { event: "metrics.value_refused", metric },
    );
  }

  #collectFailed(metric: string, error: unknown): void {
    this.#collectErrors.labels({ metric }).inc();
    this.#warnOnce(
      `collect:${metric}`,
      "Collect callback failed: the metric keeps its last values",
      { event: "metrics.collect_failed", metric, error },
    );
  }

  /** A collector's output (or one family of it) left out of a scrape. */
  #collectorFailed(metric: string, error: unknown): void {
    this.#collectErrors.labels({ metric }).inc();
    this.#warnOnce(
      `collect:${metric}`,
      "Collector failed: its family is left out of this scrape",
      { event: "metrics.collect_failed", metric, error },
    );
  }

  #warnOnce(key: string, message: string, fields: Record<string, unknown>) {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#logger.warn(message, fields);
  }
}

function validateQuantiles(
  metric: string,
  quantiles: readonly number[] | undefined,
): readonly number[] {
  const values = quantiles ?? [0.5, 0.9, 0.99];
  if (!Array.isArray(values) || values.length === 0) {
    throw new RangeError(
      `Cannot register metric "${metric}": quantiles must be a non-empty array`,
    );
  }
  for (const q of values) {
    if (!(typeof q === "number" && q >= 0 && q <= 1)) {
      throw new RangeError(
        `Cannot register metric "${metric}": quantile ${q} is not a number from 0 to 1`,
      );
    }
  }
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (sorted.length !== values.length) {
    throw new RangeError(
      `Cannot register metric "${metric}": quantiles must not repeat`,
    );
  }
  return Object.freeze(sorted);
}
