// What the registry needs of every metric type. Internal.
import type { ExpositionFormat } from "../base/exposition.ts";
import type { Logger } from "../base/log.ts";
import type { Shard } from "../aggregation/shard.ts";
import type { Watch, WatchOptions } from "./model.ts";

/** The family types of the exposition formats. */
export type MetricType = "counter" | "gauge" | "histogram" | "summary";

/** A metric family as the registry sees it. */
export interface Family {
  readonly name: string;
  readonly type: MetricType;
  /** Every sample name the family can write, to detect clashes. */
  readonly sampleNames: readonly string[];
  /** The family's id in the aggregation pool, for a histogram or summary. */
  readonly aggregationId?: number;
  /** The whole family block: HELP, TYPE and samples. */
  render(format: ExpositionFormat): string | Promise<string>;
  /**
   * The same block in UTF-8 chunks, for families whose samples a worker
   * renders: its buffers are passed on rather than decoded and encoded
   * again. Others are encoded from {@linkcode render}.
   */
  renderChunks?(format: ExpositionFormat): Promise<Uint8Array<ArrayBuffer>[]>;
}

/** The key of the method through which a registry reads a metric's family. */
export const FAMILY: unique symbol = Symbol("vigil.family");

/**
 * Why a lookup was answered with a metric's overflow series: the values of
 * the `reason` label of `vigil_cardinality_overflow_total`.
 */
export const OVERFLOW_REASON = {
  /** The metric had reached its cardinality limit. */
  cardinality: "cardinality",
  /** A label value was longer than the registry's `maxLabelValueLength`. */
  valueLength: "value_length",
} as const;

/** One of {@linkcode OVERFLOW_REASON}. */
export type OverflowReason =
  typeof OVERFLOW_REASON[keyof typeof OVERFLOW_REASON];

/** What a registry shares with the metrics it creates. */
export interface RegistryContext {
  readonly defaultLabelNames: readonly string[];
  readonly defaultLabelValues: readonly string[];
  readonly cardinalityLimit: number;
  /** The longest label value kept, in UTF-16 code units. */
  readonly maxLabelValueLength: number;
  readonly logger: Logger;
  /** The clock for `_created` times, in milliseconds since the Unix epoch. */
  readonly now: () => number;
  /**
   * Called on each lookup answered with the overflow series: a label set
   * that is not indexed is looked up anew each time, so this counts lookups,
   * not distinct label sets (which would take unbounded memory).
   */
  overflow(metric: string, reason: OverflowReason): void;
  /**
   * Called when an increment is refused because a counter, or a gauge that
   * was finite, would have become infinite.
   */
  refused(metric: string): void;
  /** Called when a metric's `collect` callback throws or rejects. */
  collectFailed(metric: string, error: unknown): void;
  /**
   * Starts drift detectors on a histogram or summary series, in the worker
   * that aggregates it (see `DistributionChild.watch()`).
   */
  watch(
    metric: string,
    series: {
      readonly shard: Shard;
      readonly id: number;
      readonly pairs: string;
    },
    options: WatchOptions,
  ): Watch;
}

/** A metric's `collect` callback: sets its values from their source at scrape time. */
export type Collect<M> = (metric: M) => void | Promise<void>;

/**
 * The family of a metric whose values live on the main thread. With a
 * `collect` callback, each render runs it first; a failure is reported to
 * the registry and the metric renders its last values, so a broken callback
 * never fails a scrape.
 */
export function mainThreadFamily<M>(
  head: Pick<Family, "name" | "type" | "sampleNames">,
  render: (format: ExpositionFormat) => string,
  collect: { fn: Collect<M> | undefined; target: M; context: RegistryContext },
): Family {
  const { fn, target, context } = collect;
  return {
    ...head,
    render: fn === undefined ? render : async (format) => {
      try {
        await fn(target);
      } catch (error) {
        context.collectFailed(head.name, error);
      }
      return render(format);
    },
  };
}
