// The metric families of model monitors, registered with the first model:
// those the monitors' worker renders (quality, predictions, drift), the
// confidence histogram fed by the worker, and the main thread's training and
// refusal counts. Internal.
import type { AggregationPool } from "../aggregation/pool.ts";
import type { ModelMetric } from "../aggregation/protocol.ts";
import type { ExpositionFormat } from "../base/exposition.ts";
import { renderHeader, renderPairs } from "../base/_text.ts";
import type { DriftEvent } from "../drift/model_types.ts";
import type { Counter } from "./counter.ts";
import type { Family, RegistryContext } from "./_family.ts";
import type { Gauge } from "./gauge.ts";
import type { Histogram } from "./histogram.ts";
import type { DistributionChild } from "./distribution.ts";
import {
  type CheckedModel,
  checkModelOptions,
  ModelHandle,
  type RefusalReason,
  type TrainingRun,
  type Watch,
  type WatchOptions,
} from "./model.ts";
import type { Shard } from "../aggregation/shard.ts";
import type { ModelOptions } from "../drift/model_types.ts";
import { observedFamily, observedSampleNames } from "./_observed.ts";
import { DEFAULT_BUCKETS } from "./buckets.ts";

const encoder = new TextEncoder();

/** The families the monitors render: name, type, help, labels past `model_name`. */
const WORKER_FAMILIES: readonly {
  readonly metric: ModelMetric;
  readonly name: string;
  readonly type: "gauge" | "counter";
  readonly help: string;
}[] = [
  {
    metric: "accuracy",
    name: "ml_model_accuracy",
    type: "gauge",
    help:
      'Share of correct predictions, over the last predictions (window="recent") or all (window="lifetime")',
  },
  {
    metric: "precision",
    name: "ml_model_precision",
    type: "gauge",
    help:
      "Precision of the positive class (binary models) or its macro average over the classes",
  },
  {
    metric: "recall",
    name: "ml_model_recall",
    type: "gauge",
    help:
      "Recall of the positive class (binary models) or its macro average over the classes",
  },
  {
    metric: "f1_score",
    name: "ml_model_f1_score",
    type: "gauge",
    help:
      "F1 score of the positive class (binary models) or the macro average of the classes' F1",
  },
  {
    metric: "predictions",
    name: "ml_predictions",
    type: "counter",
    help: "Predictions recorded, by predicted class",
  },
  {
    metric: "drift_state",
    name: "ml_drift_state",
    type: "gauge",
    help:
      "Drift detector state after its last update: 0 stable, 1 warning, 2 drift",
  },
  {
    metric: "drift_score",
    name: "ml_drift_score",
    type: "gauge",
    help:
      "Drift detector statistic: how far its test stands from its threshold (see each detector's score)",
  },
  {
    metric: "drift_detected",
    name: "ml_drift_detected",
    type: "counter",
    help:
      'Drift detector events: severity="warning" counts entries into the warning zone, severity="drift" drifts',
  },
];

/**
 * Every family the first model registers, with the sample names it writes:
 * checked free before any is defined, so a clash leaves nothing behind.
 */
export const MODEL_FAMILY_NAMES: readonly {
  readonly name: string;
  readonly samples: readonly string[];
}[] = [
  ...WORKER_FAMILIES.map(({ name, type }) => ({
    name,
    samples: type === "counter" ? [`${name}_total`] : [],
  })),
  ...[
    "ml_prediction_confidence",
    "ml_prediction_duration_seconds",
    "ml_training_duration_seconds",
  ].map((
    name,
  ) => ({ name, samples: observedSampleNames("histogram", name) })),
  ...[
    "ml_training_runs",
    "vigil_model_predictions_refused",
    "vigil_drift_subscriber_errors",
  ]
    .map((name) => ({ name, samples: [`${name}_total`, `${name}_created`] })),
  ...["ml_training_samples", "ml_last_training_timestamp_seconds"].map((
    name,
  ) => ({ name, samples: [] })),
];

/** What the registry lends the model metrics. */
export interface ModelMetricsHost {
  readonly pool: AggregationPool;
  readonly context: RegistryContext;
  /** Throws `DuplicateMetricError` when a name is taken. */
  readonly checkFree: (name: string, sampleNames: readonly string[]) => void;
  /** Registers a family the registry renders, claiming its names. */
  readonly register: (family: Family) => void;
  readonly counter: <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
  ) => Counter<L>;
  readonly gauge: <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
  ) => Gauge<L>;
  readonly histogram: <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[],
  ) => Histogram<L>;
  /** An internal counter, rendered after the user's families. */
  readonly internalCounter: <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
  ) => Counter<L>;
}

/** The buckets of `ml_prediction_confidence`. */
export const CONFIDENCE_BUCKETS: readonly number[] = Object.freeze([
  0.1,
  0.2,
  0.3,
  0.4,
  0.5,
  0.6,
  0.7,
  0.8,
  0.9,
  0.95,
  0.99,
]);

/** The buckets of `ml_training_duration_seconds`: a second to two hours. */
export const TRAINING_BUCKETS: readonly number[] = Object.freeze([
  1,
  5,
  15,
  30,
  60,
  300,
  900,
  1800,
  3600,
  7200,
]);

/** The models of a registry and the families they report in. */
export class ModelMetrics {
  readonly #host: ModelMetricsHost;
  readonly #confidence: number;
  /** Models and watches by name: the `model_name` of their events. */
  readonly #handles = new Map<string, ModelHandle>();
  readonly #watches = new Set<ModelHandle>();
  readonly #runs: Counter<"model_name" | "status">;
  readonly #duration: Histogram<"model_name">;
  readonly #latency: Histogram<"model_name">;
  readonly #samples: Gauge<"model_name">;
  readonly #lastTraining: Gauge<"model_name">;
  readonly #refused: Counter<"model_name" | "reason">;
  readonly #subscriberErrors: Counter<"model_name">;

  constructor(host: ModelMetricsHost) {
    for (const { name, samples } of MODEL_FAMILY_NAMES) {
      host.checkFree(name, samples);
    }
    this.#host = host;
    const { pool } = host;
    for (const { metric, name, type, help } of WORKER_FAMILIES) {
      const sample = type === "counter" ? `${name}_total` : name;
      const id = pool.defineFamily({ kind: "model", name: sample, metric });
      host.register(workerFamily(pool, id, name, type, help));
    }
    const confidence = {
      kind: "histogram",
      name: "ml_prediction_confidence",
      buckets: CONFIDENCE_BUCKETS,
      quantiles: [],
      maxAgeMs: 0,
      ageBuckets: 0,
      // A thousandth: at most 1001 distinct HDR values a model, so its
      // series stays a few kilobytes however many predictions it records.
      resolution: 1e-3,
    } as const;
    this.#confidence = pool.defineFamily(confidence);
    host.register(
      observedFamily(
        pool,
        this.#confidence,
        confidence,
        "Confidence (proba) of the predictions recorded",
      ),
    );
    this.#runs = host.counter(
      "ml_training_runs",
      "Training runs, by status",
      ["model_name", "status"],
    );
    this.#duration = host.histogram(
      "ml_training_duration_seconds",
      "Duration of training runs",
      ["model_name"],
      TRAINING_BUCKETS,
    );
    this.#latency = host.histogram(
      "ml_prediction_duration_seconds",
      "Time the model took to predict, as model.timed() measures it",
      ["model_name"],
      DEFAULT_BUCKETS,
    );
    this.#samples = host.gauge(
      "ml_training_samples",
      "Samples of the last training run",
      ["model_name"],
    );
    this.#lastTraining = host.gauge(
      "ml_last_training_timestamp_seconds",
      "When the last training run ended, in seconds since the Unix epoch",
      ["model_name"],
    );
    this.#refused = host.internalCounter(
      "vigil_model_predictions_refused",
      "Predictions record() did not apply, by reason: undeclared_class, class_overflow (past maxClasses), proba (not from 0 to 1), value (not finite)",
      ["model_name", "reason"],
    );
    this.#subscriberErrors = host.internalCounter(
      "vigil_drift_subscriber_errors",
      "onDrift subscribers that threw",
      ["model_name"],
    );
    pool.onDriftEvents = (events) => this.#deliver(events);
    // A watch goes with its series: its name is free again.
    pool.onWatchRemoved = (shard, id) => {
      for (const watch of this.#watches) {
        if (!watch.isMonitor(shard, id)) continue;
        this.#watches.delete(watch);
        this.#handles.delete(watch.name);
      }
    };
  }

  /** The models, in creation order, without the watches. */
  models(): ModelHandle[] {
    return [...this.#handles.values()].filter((handle) =>
      !this.#watches.has(handle)
    );
  }

  /** A model by name, not a watch. */
  get(name: string): ModelHandle | undefined {
    const handle = this.#handles.get(name);
    return handle === undefined || this.#watches.has(handle)
      ? undefined
      : handle;
  }

  /** Creates a model, its monitor on a worker and its confidence series. */
  create(options: ModelOptions): ModelHandle {
    const model = checkModelOptions(options);
    if (this.#host.pool.batchSize < 2) {
      throw new RangeError(
        `Cannot create model "${model.name}": a prediction takes two observations' room in a batch, and aggregation.batchSize is ${this.#host.pool.batchSize}`,
      );
    }
    return this.#start(model, this.#host.pool.place());
  }

  /**
   * Declares a monitor on `shard` and makes its handle: a model (with its
   * confidence series) or, with `watch`, a watch of that series.
   */
  #start(model: CheckedModel, shard: Shard, watch?: number): ModelHandle {
    const { name } = model;
    if (this.#handles.has(name)) {
      throw new TypeError(
        `Cannot create model "${name}": a model or watch with this name exists`,
      );
    }
    const { pool, context } = this.#host;
    const pairs = renderPairs(
      [...context.defaultLabelNames, "model_name"],
      [...context.defaultLabelValues, name],
    );
    const id = shard.defineModel({
      name,
      pairs,
      regression: model.regression,
      declared: model.classes !== undefined,
      classes: model.classes ?? [],
      window: model.window,
      maxClasses: model.maxClasses,
      positiveClass: model.positiveClass,
      detectors: model.detectors,
      ...(watch === undefined
        ? {
          confidenceSeries: shard.defineSeries(
            this.#confidence,
            pairs,
            context.now() / 1000,
          ),
        }
        : { watch }),
    });
    const labels = { model_name: name };
    let latency: DistributionChild | undefined;
    const refused = new Map<RefusalReason, () => void>();
    const handle = new ModelHandle(model, id, {
      pool,
      shard,
      logger: context.logger,
      refuse: (reason) => {
        let inc = refused.get(reason);
        if (inc === undefined) {
          const child = this.#refused.labels({ model_name: name, reason });
          inc = () => child.inc();
          refused.set(reason, inc);
          context.logger.warn(
            "Model prediction refused: it is counted in vigil_model_predictions_refused_total",
            { event: "model.prediction_refused", model: name, reason },
          );
        }
        inc();
      },
      train: (run) => this.#train(name, run),
      // Bound on the first timed() call: a watch never makes one.
      latency: () => (latency ??= this.#latency.labels(labels)),
      subscriberFailed: (error) => {
        this.#subscriberErrors.labels(labels).inc();
        context.logger.error("onDrift subscriber threw", {
          event: "drift.subscriber_failed",
          model: name,
          error,
        });
      },
    });
    this.#handles.set(name, handle);
    return handle;
  }

  /** Starts a watch: a monitor fed with a series' observations. */
  watch(
    metric: string,
    series: {
      readonly shard: Shard;
      readonly id: number;
      readonly pairs: string;
    },
    options: WatchOptions,
  ): Watch {
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `Cannot watch a series of "${metric}": options must be an object such as { kind: "adwin" }`,
      );
    }
    const { name: given, ...spec } = options;
    const name = given ??
      (series.pairs === "" ? metric : `${metric}{${series.pairs}}`);
    if (spec.kind !== "page_hinkley" && spec.kind !== "adwin") {
      throw new RangeError(
        `Cannot watch a series of "${metric}": kind must be "page_hinkley" or "adwin" (detectors of numbers), got ${
          JSON.stringify(spec.kind) ?? String(spec.kind)
        }`,
      );
    }
    // A regression model without a matrix, whose detector takes the values.
    const model = checkModelOptions({
      name,
      regression: true,
      detectors: [{ ...spec, kind: spec.kind, input: "residual" }],
    });
    const handle = this.#start(model, series.shard, series.id);
    this.#watches.add(handle);
    return handle;
  }

  #train(model: string, run: TrainingRun): void {
    const fail = (field: string, reason: string): never => {
      throw new RangeError(
        `Cannot track a training run of model "${model}": ${field} ${reason}`,
      );
    };
    if (run === null || typeof run !== "object") {
      throw new TypeError(
        `Cannot track a training run of model "${model}": expected { durationSeconds, samples?, status? }`,
      );
    }
    const { durationSeconds, samples, status = "success" } = run;
    if (
      !(typeof durationSeconds === "number" &&
        Number.isFinite(durationSeconds) &&
        durationSeconds >= 0)
    ) {
      fail(
        "durationSeconds",
        `must be a finite number of seconds, at least 0, got ${durationSeconds}`,
      );
    }
    if (
      samples !== undefined &&
      !(typeof samples === "number" && Number.isInteger(samples) &&
        samples >= 0)
    ) {
      fail("samples", `must be an integer of at least 0, got ${samples}`);
    }
    if (status !== "success" && status !== "failure") {
      fail("status", `must be "success" or "failure", got ${String(status)}`);
    }
    const labels = { model_name: model };
    this.#runs.labels({ model_name: model, status }).inc();
    this.#duration.labels(labels).observe(durationSeconds);
    if (samples !== undefined) this.#samples.labels(labels).set(samples);
    this.#lastTraining.labels(labels).set(this.#host.context.now() / 1000);
  }

  #deliver(events: readonly DriftEvent[]): void {
    for (const event of events) this.#handles.get(event.model)?.deliver(event);
  }
}

/** The registry's view of a family the monitors render. */
function workerFamily(
  pool: AggregationPool,
  id: number,
  name: string,
  type: "gauge" | "counter",
  help: string,
): Family {
  const sample = type === "counter" ? `${name}_total` : name;
  // A counter's family is `name` in OpenMetrics, its sample in Prometheus text.
  const header = (format: ExpositionFormat) =>
    renderHeader(
      type === "counter" && format === "prometheus" ? sample : name,
      type,
      help,
      format,
    );
  return {
    name,
    type,
    sampleNames: type === "counter" ? [sample] : [],
    aggregationId: id,
    render: async (format) => header(format) + await pool.render(id, format),
    renderChunks: async (format) => [
      encoder.encode(header(format)),
      ...await pool.renderChunks(id, format),
    ],
  };
}
