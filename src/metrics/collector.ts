/**
 * The extension point for families computed by user code, as
 * client_golang's `Collector`: a {@linkcode Collector} describes the family
 * names it owns and, at each scrape, collects families as plain data, which
 * the registry renders in either exposition format.
 *
 * @module
 */
import { counterStem } from "./_collected.ts";

/** The metric types a {@linkcode CollectedFamily} may have. */
export const CollectedType = {
  /** A counter: samples `<stem>_total` (and `<stem>_created`). */
  Counter: "counter",
  /** A gauge: samples named as the family. */
  Gauge: "gauge",
  /** A histogram: `_bucket{le}`, `_sum`, `_count` (and `_created`). */
  Histogram: "histogram",
  /** A summary: `{quantile}`, `_sum`, `_count` (and `_created`). */
  Summary: "summary",
  /** No type: `untyped` in text 0.0.4, `unknown` in OpenMetrics. */
  Untyped: "untyped",
} as const;

/** One of the values of {@linkcode CollectedType}. */
export type CollectedType = typeof CollectedType[keyof typeof CollectedType];

/** One sample of a {@linkcode CollectedFamily}. */
export interface CollectedSample {
  /** The full sample name, such as `job_seconds_bucket` or `jobs_total`. */
  readonly name: string;
  /** Label names, `le` and `quantile` included where the type needs them. */
  readonly labelNames: readonly string[];
  /** Label values (unescaped), parallel to `labelNames`. */
  readonly labelValues: readonly string[];
  /** The value; `NaN` and the infinities are written as such. */
  readonly value: number;
}

/** A metric family as a {@linkcode Collector} returns it. */
export interface CollectedFamily {
  /**
   * The family name. A counter may be named with or without `_total`: text
   * 0.0.4 writes it as given, OpenMetrics as its stem, with `_total`
   * samples.
   */
  readonly name: string;
  /** The type. */
  readonly type: CollectedType;
  /** The HELP text (unescaped); no HELP line when undefined. */
  readonly help: string | undefined;
  /** The samples; a family with none renders nothing. */
  readonly samples: readonly CollectedSample[];
}

/** A family a collector describes with its type, claiming its sample names. */
export interface DescribedFamily {
  /** The family's name. */
  readonly name: string;
  /** Its type. */
  readonly type: CollectedType;
}

/**
 * Families computed by user code at scrape time, registered with
 * `registry.register(collector)`.
 *
 * The registry renders collected families after its own metrics (and before
 * Vigil's internal ones), with the registry's default labels added where a
 * sample has no label of that name. A scrape never fails because of a
 * collector: when `collect()` throws or rejects, or returns a family that
 * is malformed or whose name (or one of its sample names) is taken by
 * another metric, collector or family of this scrape, that collector's
 * output or that family is left out and counted in
 * `vigil_collect_errors_total{metric}` (and the first such failure is
 * logged).
 *
 * @example A collector of queue lengths read at scrape time
 * ```ts
 * import { type Collector, Registry } from "@vigil/observe/metrics";
 * import assert from "node:assert/strict";
 *
 * const queues = new Map([["emails", 3], ["reports", 0]]);
 * const collector: Collector = {
 *   describe: () => ["queue_length"],
 *   collect: () => [{
 *     name: "queue_length",
 *     type: "gauge",
 *     help: "Jobs waiting",
 *     samples: [...queues].map(([queue, length]) => ({
 *       name: "queue_length",
 *       labelNames: ["queue"],
 *       labelValues: [queue],
 *       value: length,
 *     })),
 *   }],
 * };
 * const registry = new Registry();
 * const unregister = registry.register(collector);
 * assert.match(await registry.metrics(), /^queue_length\{queue="emails"\} 3$/m);
 * assert.equal(unregister(), true);
 * assert.doesNotMatch(await registry.metrics(), /queue_length/);
 * await registry.close();
 * ```
 */
export interface Collector {
  /**
   * The families the collector may emit, claimed when it is registered so
   * no metric can take them: a name claims itself only; `{ name, type }`
   * also claims the family's sample names (`_bucket`, `_sum`, `_count`,
   * `_total`), as a metric of that type would. May be empty (or partial)
   * for names known only at scrape time; those are checked at each scrape.
   *
   * @returns Family names, or names with their types.
   */
  describe(): readonly (string | DescribedFamily)[];
  /**
   * The families at this moment, each name once. Called at every scrape.
   *
   * @returns The families, or a promise of them.
   */
  collect(): Iterable<CollectedFamily> | Promise<Iterable<CollectedFamily>>;
}

/**
 * Every name a family of `type` called `name` writes in either format, the
 * family name first: what it must not share with another family. Collected
 * families write no `_created` samples, so a `<name>_created` gauge (as
 * Python's client pushes) may sit beside them.
 *
 * @param name The family name.
 * @param type The family type.
 * @returns The family name, its OpenMetrics name and its sample names.
 *
 * @example A counter's and a histogram's names
 * ```ts
 * import { collectedNames } from "@vigil/observe/metrics";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(collectedNames("jobs_total", "counter"), ["jobs_total", "jobs"]);
 * assert.deepEqual(collectedNames("job_seconds", "histogram"), [
 *   "job_seconds",
 *   "job_seconds_bucket",
 *   "job_seconds_sum",
 *   "job_seconds_count",
 * ]);
 * ```
 */
export function collectedNames(
  name: string,
  type: CollectedType,
): string[] {
  switch (type) {
    case "counter": {
      const stem = counterStem(name);
      return stem === name ? [name, `${name}_total`] : [name, stem];
    }
    case "histogram":
      return [name, `${name}_bucket`, `${name}_sum`, `${name}_count`];
    case "summary":
      return [name, `${name}_sum`, `${name}_count`];
    default:
      return [name];
  }
}
