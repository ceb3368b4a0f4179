/**
 * The figures of one histogram or summary series, from
 * `HistogramChild.snapshot()`. Count, sum, min and max are exact; the
 * percentiles come from an HDR histogram with 3 significant digits (at most
 * 0.1% relative error above 1000 resolution units) and are clamped to
 * `[min, max]`. Without observations, every figure but `count` and `sum`
 * is NaN. For summaries the percentiles cover the sliding window.
 */
export interface DistributionSnapshot {
  /** Observations made. */
  readonly count: number;
  /** Their sum. */
  readonly sum: number;
  /** The smallest observation. */
  readonly min: number;
  /** The largest observation. */
  readonly max: number;
  /** `sum / count`. */
  readonly mean: number;
  /** The median. */
  readonly p50: number;
  /** The 90th percentile. */
  readonly p90: number;
  /** The 95th percentile. */
  readonly p95: number;
  /** The 99th percentile. */
  readonly p99: number;
  /** The 99.9th percentile. */
  readonly p999: number;
}
