import type { AggregationPool } from "../aggregation/pool.ts";
import type { RegistryContext } from "./_family.ts";
import { Distribution, type DistributionOptions } from "./distribution.ts";

/** Options of {@linkcode Registry.summary}. */
export interface SummaryOptions<L extends string>
  extends DistributionOptions<L> {
  /**
   * The quantiles to expose, each from 0 to 1.
   * @default {[0.5, 0.9, 0.99]}
   */
  quantiles?: readonly number[];
  /**
   * How far back the quantiles look, in seconds.
   * @default {600}
   */
  maxAgeSeconds?: number;
  /**
   * Slices of the window; the oldest is dropped as a whole, so quantiles
   * cover between `maxAgeSeconds * (ageBuckets - 1) / ageBuckets` and
   * `maxAgeSeconds` of history.
   * @default {5}
   */
  ageBuckets?: number;
}

/**
 * Quantiles of recent observations, such as prediction confidence over the
 * last ten minutes, with `_sum` and `_count` over all time. Create it with
 * {@linkcode Registry.summary}. Unlike a histogram's buckets, its quantiles
 * cannot be aggregated across instances: prefer a histogram for anything
 * dashboards sum over pods.
 *
 * @typeParam L The label names.
 */
export class Summary<L extends string = never> extends Distribution<L> {
  /** The exposed quantiles, ascending. */
  readonly quantiles: readonly number[];
  /** The window length in seconds. */
  readonly maxAgeSeconds: number;
  /** The window slices. */
  readonly ageBuckets: number;

  /** @ignore Created by {@linkcode Registry.summary}. */
  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    window: {
      quantiles: readonly number[];
      maxAgeSeconds: number;
      ageBuckets: number;
    },
    resolution: number,
    pool: AggregationPool,
    context: RegistryContext,
  ) {
    super(
      {
        kind: "summary",
        name,
        buckets: [],
        quantiles: window.quantiles,
        maxAgeMs: window.maxAgeSeconds * 1000,
        ageBuckets: window.ageBuckets,
        resolution,
      },
      help,
      labelNames,
      pool,
      context,
    );
    this.quantiles = window.quantiles;
    this.maxAgeSeconds = window.maxAgeSeconds;
    this.ageBuckets = window.ageBuckets;
  }
}
