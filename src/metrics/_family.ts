// What the registry needs of every metric type. Internal.
import type { ExpositionFormat } from "../base/exposition.ts";
import type { Logger } from "../base/log.ts";

/** The family types of the exposition formats. */
export type MetricType = "counter" | "gauge" | "histogram" | "summary";

/** A metric family as the registry sees it. */
export interface Family {
  readonly name: string;
  readonly type: MetricType;
  /** Every sample name the family can write, to detect clashes. */
  readonly sampleNames: readonly string[];
  /** The whole family block: HELP, TYPE and samples. */
  render(format: ExpositionFormat): string | Promise<string>;
}

/** The key of the method through which a registry reads a metric's family. */
export const FAMILY: unique symbol = Symbol("vigil.family");

/** What a registry shares with the metrics it creates. */
export interface RegistryContext {
  readonly defaultLabelNames: readonly string[];
  readonly defaultLabelValues: readonly string[];
  readonly cardinalityLimit: number;
  readonly logger: Logger;
  /** The clock for `_created` times, in milliseconds since the Unix epoch. */
  readonly now: () => number;
  /** Called each time a new label set is folded into the overflow series. */
  overflow(metric: string): void;
  /** Called when a metric's `collect` callback throws or rejects. */
  collectFailed(metric: string, error: unknown): void;
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
