// The server-side HTTP metrics, shared by instrument() and the framework
// adapters.
import type { Counter } from "../metrics/counter.ts";
import type { Gauge } from "../metrics/gauge.ts";
import type { Histogram } from "../metrics/histogram.ts";
import type { Registry } from "../metrics/registry.ts";

/** The route label of requests no route matched. */
export const UNMATCHED_ROUTE = "unmatched";

/** The HTTP metrics `instrument()` records; see {@linkcode httpMetrics}. */
export interface HttpMetrics {
  /** `http_requests_total{method,route,status}`. */
  readonly requests: Counter<"method" | "route" | "status">;
  /** `http_request_duration_seconds{method,route}`. */
  readonly duration: Histogram<"method" | "route">;
  /** `http_requests_in_progress`. */
  readonly inProgress: Gauge;
  /** `http_request_errors_total{method,route,error}`: handler errors by type. */
  readonly errors: Counter<"method" | "route" | "error">;
}

/**
 * Registers the HTTP metrics once, to share between several instrumented
 * handlers of one registry.
 *
 * @param registry Where the metrics live.
 * @param buckets Latency buckets in seconds.
 * @returns The metrics.
 * @throws {DuplicateMetricError} When the registry has them already.
 */
export function httpMetrics(
  registry: Registry,
  buckets?: readonly number[],
): HttpMetrics {
  return {
    requests: registry.counter({
      name: "http_requests_total",
      help: "HTTP requests answered, by method, route template and status",
      labelNames: ["method", "route", "status"],
    }),
    duration: registry.histogram({
      name: "http_request_duration_seconds",
      help: "Time until the handler returned its response, in seconds",
      labelNames: ["method", "route"],
      ...(buckets === undefined ? {} : { buckets }),
    }),
    inProgress: registry.gauge({
      name: "http_requests_in_progress",
      help: "HTTP requests being handled",
    }),
    errors: registry.counter({
      name: "http_request_errors_total",
      help: "Errors thrown by handlers, by type; each was answered with 500",
      labelNames: ["method", "route", "error"],
    }),
  };
}

/**
 * The access log: `true` logs every request; `successSampleRate` logs that
 * share of the successful ones (below 400) and every other; `skipRoutes`
 * are not logged.
 */
export type AccessLogOption = boolean | {
  readonly successSampleRate?: number;
  readonly skipRoutes?: readonly string[];
};
