// The cache kit: hits, misses, size, items and operation latency of a cache.
import type { Registry } from "../metrics/registry.ts";
import { timed } from "../metrics/timed.ts";
import type { Kit } from "./spec.ts";
import {
  componentName,
  sharedCounter,
  sharedGauge,
  sharedHistogram,
} from "./_families.ts";
import { checkOption, durationMinutes } from "./_options.ts";

/** Options of {@linkcode cacheMetrics}. */
export interface CacheMetricsOptions {
  /** The cache's name: the `cache` label of its series, e.g. `redis`. */
  readonly name: string;
  /**
   * Buckets of `cache_operation_duration_seconds`.
   * @default {[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]}
   */
  readonly buckets?: readonly number[];
}

/** What {@linkcode cacheMetrics} returns: one cache's helpers. */
export interface CacheMetrics {
  /** Counts lookups the cache answered (`cache_hits_total`). */
  hit(count?: number): void;
  /** Counts lookups it could not answer (`cache_misses_total`). */
  miss(count?: number): void;
  /** Sets the bytes it holds (`cache_size_bytes`). */
  size(bytes: number): void;
  /** Sets the entries it holds (`cache_items`). */
  items(count: number): void;
  /**
   * Runs `fn`, an operation such as `get` or `set`, and records its
   * seconds in `cache_operation_duration_seconds{operation}`, on success
   * and failure; a promise is timed until it settles.
   */
  timed<T>(operation: string, fn: () => T): T;
}

/** Cache operations take micro- to milliseconds. */
const BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
];

/**
 * Metrics of one cache, registered once per registry and shared by every
 * cache: `cache_hits_total{cache}`, `cache_misses_total{cache}`,
 * `cache_size_bytes{cache}`, `cache_items{cache}` and
 * `cache_operation_duration_seconds{cache,operation}`. The generated
 * dashboards show its hit ratio, traffic, size and latency, and the rules
 * alert with LowCacheHitRate.
 *
 * @param registry Where the metrics live.
 * @param options The cache's name.
 * @returns The cache's helpers.
 * @throws {TypeError} When the name is empty, or the registry holds one of
 * the names as another metric.
 *
 * @example Count a cache's hits and time its operations
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { cacheMetrics } from "@vigil/observe/kits";
 * import { sampleValue } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const redis = cacheMetrics(registry, { name: "redis" });
 * const value = await redis.timed("get", async () => "cached");
 * redis.hit();
 * redis.items(1200);
 * assert.equal(value, "cached");
 * assert.equal(await sampleValue(registry, "cache_hits_total", { cache: "redis" }), 1);
 * await registry.close();
 * ```
 */
export function cacheMetrics(
  registry: Registry,
  options: CacheMetricsOptions,
): CacheMetrics {
  const cache = componentName("cache", options?.name);
  const label = { cache };
  const hits = sharedCounter(registry, {
    name: "cache_hits_total",
    help: "Cache lookups answered from the cache",
    labelNames: ["cache"],
  }).labels(label);
  const misses = sharedCounter(registry, {
    name: "cache_misses_total",
    help: "Cache lookups the cache could not answer",
    labelNames: ["cache"],
  }).labels(label);
  const size = sharedGauge(registry, {
    name: "cache_size_bytes",
    help: "Bytes the cache holds",
    labelNames: ["cache"],
  }).labels(label);
  const items = sharedGauge(registry, {
    name: "cache_items",
    help: "Entries the cache holds",
    labelNames: ["cache"],
  }).labels(label);
  const duration = sharedHistogram(registry, {
    name: "cache_operation_duration_seconds",
    help: "Time of cache operations, by operation",
    labelNames: ["cache", "operation"],
    buckets: options.buckets ?? BUCKETS,
  });
  return {
    hit: (count = 1) => hits.inc(count),
    miss: (count = 1) => misses.inc(count),
    size: (bytes) => size.set(bytes),
    items: (count) => items.set(count),
    timed: (operation, fn) => timed(duration.labels({ cache, operation }), fn),
  };
}

/** The hit ratio recorded per job and cache. */
const HIT_RATIO = "job_cache:cache_hits:ratio_rate5m";

/** Options of {@linkcode cacheKit}. */
export interface CacheKitOptions {
  /** The hit ratio below which LowCacheHitRate fires, in (0, 1). @default {0.5} */
  readonly hitRatio?: number;
  /** How long the ratio stays low before it fires. @default {"10m"} */
  readonly hitRatioFor?: string;
}

/**
 * The cache kit's dashboard row, recording rule and alert, for the
 * generators.
 *
 * @param options The alert's threshold and duration.
 * @returns The kit.
 *
 * @example The kit's alert
 * ```ts
 * import { cacheKit } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(cacheKit().alerts.map((a) => a.name), ["LowCacheHitRate"]);
 * ```
 */
export function cacheKit(options: CacheKitOptions = {}): Kit {
  const threshold = checkOption(
    "cache",
    "hitRatio",
    options.hitRatio ?? 0.5,
    0,
    1,
    true,
  );
  const hitRatioFor = options.hitRatioFor ?? "10m";
  durationMinutes("cache", "hitRatioFor", hitRatioFor);
  // Lookups a minute out of 10000: the cases sit one lookup either side of
  // the threshold, so a threshold moved by 0.0001 fails them.
  const hitsAt = (offset: number) =>
    Math.min(10000, Math.max(0, Math.round(threshold * 10000) + offset));
  const lookups = (n: number, hits: number) => [
    {
      name: "cache_hits_total",
      labels: 'cache="redis"',
      values: `0+${hits}x${n}`,
    },
    {
      name: "cache_misses_total",
      labels: 'cache="redis"',
      values: `0+${10000 - hits}x${n}`,
    },
  ];
  const rate = (metric: string) =>
    `sum by (cache) (rate(${metric}[$__rate_interval]))`;
  return {
    kind: "cache",
    title: "Caches",
    marker: "cache_hits_total",
    families: [
      "cache_hits_total",
      "cache_misses_total",
      "cache_size_bytes",
      "cache_items",
      "cache_operation_duration_seconds",
    ],
    panels: [{
      title: "Hit ratio",
      type: "timeseries",
      unit: "percentunit",
      min: 0,
      max: 1,
      lowIsBad: [[threshold, "orange"], [(1 + threshold) / 2, "green"]],
      queries: [{
        expr: `${rate("cache_hits_total")} / (${rate("cache_hits_total")} + ${
          rate("cache_misses_total")
        })`,
        legend: "{{cache}}",
      }],
    }, {
      title: "Lookups",
      type: "timeseries",
      unit: "ops",
      queries: [
        { expr: rate("cache_hits_total"), legend: "{{cache}} hits" },
        { expr: rate("cache_misses_total"), legend: "{{cache}} misses" },
      ],
    }, {
      title: "Size",
      type: "timeseries",
      unit: "bytes",
      queries: [{
        expr: "sum by (cache) (cache_size_bytes)",
        legend: "{{cache}}",
      }],
    }, {
      title: "Entries",
      type: "timeseries",
      unit: "short",
      queries: [{ expr: "sum by (cache) (cache_items)", legend: "{{cache}}" }],
    }, {
      title: "Operation latency p95",
      type: "timeseries",
      unit: "s",
      queries: [{
        expr:
          "histogram_quantile(0.95, sum by (cache, operation, le) (rate(cache_operation_duration_seconds_bucket[$__rate_interval])))",
        legend: "{{cache}} {{operation}}",
      }],
    }],
    recording: [{
      record: HIT_RATIO,
      expr:
        "sum by (job, cache) (rate(cache_hits_total[5m])) / (sum by (job, cache) (rate(cache_hits_total[5m])) + sum by (job, cache) (rate(cache_misses_total[5m])))",
    }],
    alerts: [{
      name: "LowCacheHitRate",
      expr: `${HIT_RATIO} < ${threshold}`,
      for: hitRatioFor,
      severity: "warning",
      format: "humanizePercentage",
      summary: (l) => `Low hit rate of cache ${l("cache")} on ${l("job")}`,
      description: (l, v) =>
        `Cache ${l("cache")} of ${
          l("job")
        } answered ${v} of its lookups over 5m (threshold ${threshold * 100}%)`,
      labels: { cache: "redis" },
      byInstance: false,
      value: hitsAt(-1) / 10000,
      firing: (n) => lookups(n, hitsAt(-1)),
      healthy: (n) => lookups(n, hitsAt(1)),
      rangeMinutes: 5,
    }],
  };
}
