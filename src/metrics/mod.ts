/**
 * The metrics core: a {@linkcode Registry} of counters, gauges, histograms
 * and summaries, rendered as Prometheus text 0.0.4 or OpenMetrics 1.0.
 * Histograms and summaries are aggregated in Web Workers; recording an
 * observation writes two numbers into a batch on the main thread.
 *
 * @example Count requests and expose them
 * ```ts
 * import { CONTENT_TYPES, negotiateFormat, Registry } from "@vigil/observe/metrics";
 *
 * const registry = new Registry({ defaultLabels: { service: "api" } });
 * const requests = registry.counter({ name: "http_requests_total", help: "Requests served", labelNames: ["method"] });
 * requests.labels({ method: "GET" }).inc();
 *
 * const format = negotiateFormat("application/openmetrics-text; version=1.0.0");
 * const response = new Response(await registry.metrics({ format }), {
 *   headers: { "content-type": CONTENT_TYPES[format] },
 * });
 * await registry.close();
 * ```
 *
 * @module
 */
export {
  DEFAULT_CARDINALITY_LIMIT,
  DEFAULT_MAX_LABEL_VALUE_LENGTH,
  type MetricsOptions,
  Registry,
  type RegistryOptions,
} from "./registry.ts";
export { Counter, CounterChild, type CounterOptions } from "./counter.ts";
export { Gauge, GaugeChild, type GaugeOptions } from "./gauge.ts";
export {
  Distribution,
  DistributionChild,
  type DistributionOptions,
} from "./distribution.ts";
export { Histogram, type HistogramOptions } from "./histogram.ts";
export { Summary, type SummaryOptions } from "./summary.ts";
export type { DistributionSnapshot } from "../base/snapshot.ts";
export {
  DEFAULT_BUCKETS,
  exponentialBuckets,
  linearBuckets,
} from "./buckets.ts";
export {
  AGGREGATION_DEFAULTS,
  type AggregationOptions,
  type WorkerStatus,
} from "../aggregation/types.ts";
export { DuplicateMetricError } from "./errors.ts";
export {
  type CollectedFamily,
  collectedNames,
  type CollectedSample,
  CollectedType,
  type Collector,
  type DescribedFamily,
} from "./collector.ts";
export {
  CONTENT_TYPES,
  ExpositionFormat,
  negotiateFormat,
} from "../base/exposition.ts";
export {
  type Labels,
  type LabelsRequired,
  type LabelValue,
  type MetricOptions,
  OVERFLOW_LABEL_VALUE,
} from "./labels.ts";
export {
  type ProcessMetricsOptions,
  registerProcessMetrics,
} from "./process.ts";
export {
  registerRuntimeMetrics,
  type RuntimeMetricsOptions,
  type RuntimeMonitor,
} from "./runtime.ts";
export type { Model, TrainingRun, Watch, WatchOptions } from "./model.ts";
export type { TraceRef } from "./trace.ts";
export {
  Outcome,
  timed,
  type TimedDecorator,
  type TimedTarget,
} from "./timed.ts";
