// The registry behind the golden exposition files.
import { Registry } from "../../src/metrics/mod.ts";
import { recordingLogger } from "../_tools.ts";

/** A registry touching every rendering rule, with a fixed clock. */
export function goldenRegistry(): Registry {
  const registry = new Registry({
    defaultLabels: { service: "api" },
    logger: recordingLogger(),
    now: () => 1_700_000_000_250,
    maxLabelValueLength: 16,
    aggregation: { workers: 1 },
  });
  const requests = registry.counter({
    name: "http_requests_total",
    help: "Requests served",
    labelNames: ["method", "status"],
  });
  requests.labels({ method: "GET", status: 200 }).inc();
  requests.labels({ method: "POST", status: "500" }).inc(2.5);
  const canary = registry.counter({
    name: "escaping_canary",
    help: 'Help with a\\b"c and a\nnewline',
    labelNames: ["value"],
  });
  canary.labels({ value: 'a\\b"c\nd' }).inc(3);
  const gauge = registry.gauge({
    name: "special_values",
    help: "Non-finite and large values",
    labelNames: ["case"],
  });
  gauge.labels({ case: "pos_inf" }).set(Infinity);
  gauge.labels({ case: "neg_inf" }).set(-Infinity);
  gauge.labels({ case: "nan" }).set(NaN);
  gauge.labels({ case: "large" }).set(1e21);
  gauge.labels({ case: "small" }).set(1.5e-7);
  gauge.labels({ case: "negative" }).set(-42);
  gauge.labels({ case: "fraction" }).set(0.1);
  gauge.labels({ case: "ünïcødé ✓ 日本" }).set(7);
  registry.gauge({ name: "inflight", help: "Requests in flight" }).set(3);
  const limited = registry.counter({
    name: "label_limits",
    help: "Label values stored well-formed, and too long to store",
    labelNames: ["value"],
  });
  // One series: a lone surrogate is stored as U+FFFD.
  limited.labels({ value: "lone \uD800 surrogate" }).inc();
  limited.labels({ value: "lone \uFFFD surrogate" }).inc();
  // 17 code units: the overflow series, counted on each lookup.
  limited.labels({ value: "seventeen units!!" }).inc();
  limited.labels({ value: "seventeen units!!" }).inc();
  const refusing = registry.counter({
    name: "refusing",
    help: "A counter that refused an increment",
  });
  refusing.inc(Number.MAX_VALUE);
  refusing.inc(Number.MAX_VALUE);
  const latency = registry.histogram({
    name: "http_request_duration_seconds",
    help: "Request latency",
    labelNames: ["route"],
    buckets: [0.01, 0.1, 1],
  });
  for (const value of [0.005, 0.01, 0.05, 0.5, 2]) {
    latency.labels({ route: "/predict" }).observe(value);
  }
  latency.labels({ route: 'a\\b"c\nd' }).observe(0.1);
  const confidence = registry.summary({
    name: "ml_prediction_confidence",
    help: "Confidence of predictions",
    quantiles: [0.5, 0.9],
    resolution: 1e-3,
  });
  for (const value of [0.25, 0.5, 0.75, 1]) confidence.observe(value);
  return registry;
}
