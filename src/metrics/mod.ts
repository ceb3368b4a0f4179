/**
 * The metrics core: a {@linkcode Registry} of counters and gauges, rendered
 * as Prometheus text 0.0.4 or OpenMetrics 1.0.
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
  type MetricsOptions,
  Registry,
  type RegistryOptions,
} from "./registry.ts";
export { Counter, CounterChild, type CounterOptions } from "./counter.ts";
export { Gauge, GaugeChild, type GaugeOptions } from "./gauge.ts";
export { DuplicateMetricError } from "./errors.ts";
export {
  CONTENT_TYPES,
  ExpositionFormat,
  negotiateFormat,
} from "./exposition.ts";
export {
  type Labels,
  type LabelValue,
  type MetricOptions,
  OVERFLOW_LABEL_VALUE,
} from "./labels.ts";
export {
  type ProcessMetricsOptions,
  registerProcessMetrics,
} from "./process.ts";
