// The online learning kit: a model's incremental updates and the samples
// waiting for the next one.
import type { Registry } from "../metrics/registry.ts";
import type { Kit } from "./spec.ts";
import { componentName, sharedCounter, sharedGauge } from "./_families.ts";

/** Options of {@linkcode onlineLearningMetrics}. */
export interface OnlineLearningMetricsOptions {
  /** The model's name: the `model_name` label of its series, e.g. `fraud`. */
  readonly name: string;
}

/** What {@linkcode onlineLearningMetrics} returns: one model's helpers. */
export interface OnlineLearningMetrics {
  /** Counts incremental updates of the model (`ml_online_updates_total`). */
  update(count?: number): void;
  /** Sets the samples buffered for the next update (`ml_online_buffer_size`). */
  bufferSize(samples: number): void;
}

/**
 * Metrics of one online-learning model, registered once per registry and
 * shared by every model: `ml_online_updates_total{model_name}` and
 * `ml_online_buffer_size{model_name}`. The generated dashboards show
 * updates per second and the buffer; no alert is generated, as how often a
 * model should learn depends on its traffic.
 *
 * @param registry Where the metrics live.
 * @param options The model's name.
 * @returns The model's helpers; `bufferSize()` throws a TypeError for a
 * non-number and a RangeError for a negative or non-finite size.
 * @throws {TypeError} When the name is empty, or the registry holds one of
 * the names as another metric.
 *
 * @example Count a model's updates
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { onlineLearningMetrics } from "@vigil/observe/kits";
 * import { sampleValue } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const fraud = onlineLearningMetrics(registry, { name: "fraud" });
 * fraud.bufferSize(256);
 * fraud.update();
 * fraud.bufferSize(0);
 * assert.equal(await sampleValue(registry, "ml_online_updates_total", { model_name: "fraud" }), 1);
 * await registry.close();
 * ```
 */
export function onlineLearningMetrics(
  registry: Registry,
  options: OnlineLearningMetricsOptions,
): OnlineLearningMetrics {
  const model = componentName("online_learning", options?.name);
  const label = { model_name: model };
  const updates = sharedCounter(registry, {
    name: "ml_online_updates_total",
    help: "Incremental updates of the online-learning model",
    labelNames: ["model_name"],
  }).labels(label);
  const buffer = sharedGauge(registry, {
    name: "ml_online_buffer_size",
    help: "Samples buffered for the model's next incremental update",
    labelNames: ["model_name"],
  }).labels(label);
  return {
    update: (count = 1) => updates.inc(count),
    bufferSize: (samples) => {
      if (typeof samples !== "number") {
        throw new TypeError(
          `Cannot set the buffer size of model "${model}": samples must be a number, got ${typeof samples}`,
        );
      }
      if (!(Number.isFinite(samples) && samples >= 0)) {
        throw new RangeError(
          `Cannot set the buffer size of model "${model}": samples must be finite and not negative, got ${samples}`,
        );
      }
      buffer.set(samples);
    },
  };
}

/**
 * The online learning kit's dashboard row, for the generators. It has no
 * alert: a model may rightly wait hours for enough samples, so no default
 * silence or buffer size is wrong everywhere.
 *
 * @returns The kit.
 *
 * @example The kit's row
 * ```ts
 * import { onlineLearningKit } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * assert.equal(onlineLearningKit().title, "Online learning");
 * assert.equal(onlineLearningKit().alerts.length, 0);
 * ```
 */
export function onlineLearningKit(): Kit {
  return {
    kind: "online_learning",
    title: "Online learning",
    marker: "ml_online_updates_total",
    families: ["ml_online_updates_total", "ml_online_buffer_size"],
    panels: [{
      title: "Updates",
      type: "timeseries",
      unit: "ops",
      queries: [{
        expr:
          "sum by (model_name) (rate(ml_online_updates_total[$__rate_interval]))",
        legend: "{{model_name}}",
      }],
    }, {
      title: "Updates in the last hour",
      type: "stat",
      unit: "short",
      queries: [{
        expr: "sum by (model_name) (increase(ml_online_updates_total[1h]))",
        legend: "{{model_name}}",
      }],
    }, {
      title: "Buffered samples",
      type: "timeseries",
      unit: "short",
      queries: [{
        expr: "sum by (model_name) (ml_online_buffer_size)",
        legend: "{{model_name}}",
      }],
    }],
    recording: [],
    alerts: [],
  };
}
