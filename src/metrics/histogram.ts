import type { AggregationPool } from "../aggregation/pool.ts";
import type { RegistryContext } from "./_family.ts";
import { Distribution, type DistributionOptions } from "./distribution.ts";

/** Options of {@linkcode Registry.histogram}. */
export interface HistogramOptions<L extends string>
  extends DistributionOptions<L> {
  /**
   * Upper bounds of the classic buckets: finite, strictly increasing; `+Inf`
   * is always added. Counts per bucket are exact, and a value equal to a
   * bound lands in that bound's bucket.
   * @default {DEFAULT_BUCKETS}
   */
  buckets?: readonly number[];
}

/**
 * A distribution of observations, such as request latencies or payload
 * sizes, exposed as cumulative buckets with `_sum` and `_count`. Create it
 * with {@linkcode Registry.histogram}.
 *
 * @typeParam L The label names.
 */
export class Histogram<L extends string = never> extends Distribution<L> {
  /** The bucket upper bounds, without `+Inf`. */
  readonly buckets: readonly number[];

  /** @ignore Created by {@linkcode Registry.histogram}. */
  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[],
    resolution: number,
    pool: AggregationPool,
    context: RegistryContext,
  ) {
    super(
      {
        kind: "histogram",
        name,
        buckets,
        quantiles: [],
        maxAgeMs: 0,
        ageBuckets: 0,
        resolution,
      },
      help,
      labelNames,
      pool,
      context,
    );
    this.buckets = buckets;
  }
}
