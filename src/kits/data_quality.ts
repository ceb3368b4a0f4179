// The data quality kit: a dataset's quality score, its checks and anomalies.
import type { Registry } from "../metrics/registry.ts";
import type { Kit } from "./spec.ts";
import { checkOption, clean, durationMinutes } from "./_options.ts";
import { componentName, sharedCounter, sharedGauge } from "./_families.ts";

/** Options of {@linkcode dataQualityMetrics}. */
export interface DataQualityMetricsOptions {
  /** The dataset's name: the `dataset` label of its series, e.g. `orders`. */
  readonly name: string;
}

/** What {@linkcode dataQualityMetrics} returns: one dataset's helpers. */
export interface DataQualityMetrics {
  /** Sets the dataset's quality score, from 0 to 1 (`data_quality_score`). */
  score(value: number): void;
  /** Counts a check that passed or failed (`data_quality_checks_total{result}`). */
  check(passed: boolean): void;
  /** Counts anomalies found in the dataset (`data_anomalies_detected_total`). */
  anomaly(count?: number): void;
}

/**
 * Metrics of one dataset, registered once per registry and shared by every
 * dataset: `data_quality_score{dataset}` (0 to 1, exposed from the first
 * `score()` on, so a dataset never scored does not alert),
 * `data_quality_checks_total{dataset,result="pass"|"fail"}` and
 * `data_anomalies_detected_total{dataset}`. The generated dashboards show
 * the score, checks and anomalies, and the rules alert with LowDataQuality.
 *
 * @param registry Where the metrics live.
 * @param options The dataset's name.
 * @returns The dataset's helpers; `score()` throws a RangeError outside 0
 * to 1 and `check()` a TypeError for anything but a boolean.
 * @throws {TypeError} When the name is empty, or the registry holds one of
 * the names as another metric.
 *
 * @example Score a dataset after its checks
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { dataQualityMetrics } from "@vigil/observe/kits";
 * import { sampleValue } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const orders = dataQualityMetrics(registry, { name: "orders" });
 * orders.check(true);
 * orders.check(false);
 * orders.anomaly(3);
 * orders.score(0.5);
 * assert.equal(await sampleValue(registry, "data_quality_score", { dataset: "orders" }), 0.5);
 * await registry.close();
 * ```
 */
export function dataQualityMetrics(
  registry: Registry,
  options: DataQualityMetricsOptions,
): DataQualityMetrics {
  const dataset = componentName("data_quality", options?.name);
  const score = sharedGauge(registry, {
    name: "data_quality_score",
    help: "Quality score of the dataset, from 0 (worst) to 1 (best)",
    labelNames: ["dataset"],
  });
  const checks = sharedCounter(registry, {
    name: "data_quality_checks_total",
    help: "Data quality checks run on the dataset, by result: pass or fail",
    labelNames: ["dataset", "result"],
  });
  const passed = checks.labels({ dataset, result: "pass" });
  const failed = checks.labels({ dataset, result: "fail" });
  const anomalies = sharedCounter(registry, {
    name: "data_anomalies_detected_total",
    help: "Anomalies detected in the dataset",
    labelNames: ["dataset"],
  }).labels({ dataset });
  return {
    score: (value) => {
      if (typeof value !== "number") {
        throw new TypeError(
          `Cannot set the data quality score of dataset "${dataset}": score must be a number, got ${typeof value}`,
        );
      }
      if (!(value >= 0 && value <= 1)) {
        throw new RangeError(
          `Cannot set the data quality score of dataset "${dataset}": score must be from 0 to 1, got ${value}`,
        );
      }
      score.labels({ dataset }).set(value);
    },
    check: (ok) => {
      if (typeof ok !== "boolean") {
        throw new TypeError(
          `Cannot count a data quality check of dataset "${dataset}": passed must be a boolean, got ${typeof ok}`,
        );
      }
      (ok ? passed : failed).inc();
    },
    anomaly: (count = 1) => anomalies.inc(count),
  };
}

/** Options of {@linkcode dataQualityKit}. */
export interface DataQualityKitOptions {
  /** The score below which LowDataQuality fires, in (0, 1). @default {0.8} */
  readonly score?: number;
  /** How long the score stays low before it fires. @default {"10m"} */
  readonly scoreFor?: string;
}

/**
 * The data quality kit's dashboard row and alert, for the generators.
 * LowDataQuality fires when a dataset's lowest score across the job's
 * instances stays below the threshold.
 *
 * @param options The alert's threshold and duration.
 * @returns The kit.
 * @throws {RangeError} When `score` is not in (0, 1).
 * @throws {TypeError} When `scoreFor` is not a Prometheus duration.
 *
 * @example The kit's alert
 * ```ts
 * import { dataQualityKit } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(dataQualityKit().alerts.map((a) => a.name), ["LowDataQuality"]);
 * ```
 */
export function dataQualityKit(options: DataQualityKitOptions = {}): Kit {
  const kit = "data_quality";
  const threshold = checkOption(kit, "score", options.score ?? 0.8, 0, 1, true);
  const scoreFor = options.scoreFor ?? "10m";
  durationMinutes(kit, "scoreFor", scoreFor);
  const scoreSeries = (n: number, value: number) => [{
    name: "data_quality_score",
    labels: 'dataset="orders"',
    values: `${value}x${n}`,
  }];
  const rate = (expr: string) =>
    `sum by (dataset) (rate(${expr}[$__rate_interval]))`;
  return {
    kind: kit,
    title: "Data quality",
    marker: "data_quality_score",
    families: [
      "data_quality_score",
      "data_quality_checks_total",
      "data_anomalies_detected_total",
    ],
    panels: [{
      title: "Quality score",
      type: "timeseries",
      unit: "percentunit",
      min: 0,
      max: 1,
      lowIsBad: [[threshold, "orange"], [(1 + threshold) / 2, "green"]],
      queries: [{
        expr: "min by (dataset) (data_quality_score)",
        legend: "{{dataset}}",
      }],
    }, {
      title: "Checks",
      type: "timeseries",
      unit: "ops",
      queries: [{
        expr:
          "sum by (dataset, result) (rate(data_quality_checks_total[$__rate_interval]))",
        legend: "{{dataset}} {{result}}",
      }],
    }, {
      title: "Failed checks",
      type: "timeseries",
      unit: "percentunit",
      min: 0,
      max: 1,
      queries: [{
        expr: `${rate('data_quality_checks_total{result="fail"}')} / ${
          rate("data_quality_checks_total")
        }`,
        legend: "{{dataset}}",
      }],
    }, {
      title: "Anomalies",
      type: "timeseries",
      unit: "short",
      queries: [{
        expr:
          "sum by (dataset) (increase(data_anomalies_detected_total[$__rate_interval]))",
        legend: "{{dataset}}",
      }],
    }],
    recording: [],
    alerts: [{
      name: "LowDataQuality",
      expr: `min by (job, dataset) (data_quality_score) < ${threshold}`,
      for: scoreFor,
      severity: "warning",
      format: "humanizePercentage",
      summary: (l) => `Low quality of dataset ${l("dataset")} on ${l("job")}`,
      description: (l, v) =>
        `Dataset ${l("dataset")} of ${l("job")} scores ${v} (threshold ${
          clean(threshold * 100)
        }%)`,
      labels: { dataset: "orders" },
      byInstance: false,
      // Just past the threshold, and just within it when healthy.
      // One thousandth either side of the threshold.
      value: clean(threshold - 0.001),
      firing: (n) => scoreSeries(n, clean(threshold - 0.001)),
      healthy: (n) => scoreSeries(n, Math.min(1, clean(threshold + 0.001))),
      rangeMinutes: 0,
    }],
  };
}
