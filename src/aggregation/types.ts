// The public types of aggregation: its options and how its workers are doing.

/** How one aggregation worker is doing, for health checks. */
export interface WorkerStatus {
  /** The shard's index. */
  readonly index: number;
  /** Whether the shard aggregates on the main thread. */
  readonly inThread: boolean;
  /**
   * Whether it does so because its worker could not start (Deno may not
   * read its modules, or they did not load) or failed too often, rather
   * than because `workers: 0` asked for it.
   */
  readonly fallback: boolean;
  /**
   * Why the shard fell back, such as `"its worker failed too often"`;
   * undefined when it did not.
   */
  readonly fallbackReason: string | undefined;
  /** Whether an aggregator is connected (false while a restart waits). */
  readonly connected: boolean;
  /** Whether it answered within the heartbeat timeout. */
  readonly responsive: boolean;
  /** Milliseconds since it last answered. */
  readonly silentForMs: number;
  /** Batches waiting for its next snapshot. */
  readonly retainedBatches: number;
}

/** Tuning of the aggregation workers; every field has a default. */
export interface AggregationOptions {
  /**
   * Worker threads; series are spread over them. 0 aggregates on the main
   * thread instead, through the same message protocol.
   * @default {max(1, navigator.hardwareConcurrency - 1)}
   */
  workers?: number;
  /**
   * Observations per batch; a batch is posted when full.
   * @default {4096}
   */
  batchSize?: number;
  /**
   * Batches each worker may have posted and not yet applied, in a ring
   * shared with the worker: 4 MiB per worker by default
   * (`batchSlots * batchSize * 16` bytes). An applied batch leaves the ring
   * at once; a copy waits on the main thread for a snapshot to cover it,
   * for a restarted worker to replay (see `snapshotIntervalMs`).
   * @default {64}
   */
  batchSlots?: number;
  /**
   * Further batches each worker may owe, allocated only while its ring is
   * full: a burst, or a worker still starting. Past them, observations are
   * dropped and counted in `vigil_observations_dropped_total`. So the hot
   * path holds at most `(batchSlots + spillBatches) * batchSize * 16` bytes
   * per worker, 16 MiB by default.
   * @default {192}
   */
  spillBatches?: number;
  /**
   * A batch that is not full is posted after at most this long.
   * @default {50}
   */
  flushIntervalMs?: number;
  /**
   * How often a worker considers a snapshot of its changed series. A
   * worker snapshots its changed series as soon as the batches applied since
   * its last snapshot outweigh their records (so while traffic flows,
   * snapshots cost no more than the bytes observed), and at this interval
   * once those batches reach an eighth of them (eight times at most): the
   * copies kept for replay stay within the changed series' size.
   * @default {1000}
   */
  snapshotIntervalMs?: number;
  /**
   * How often a worker is pinged.
   * @default {1000}
   */
  heartbeatIntervalMs?: number;
  /**
   * A worker silent this long is taken for dead and restarted.
   * @default {5000}
   */
  heartbeatTimeoutMs?: number;
  /**
   * Restarts of one worker allowed within a minute; past them the shard is
   * aggregated on the main thread from then on, so nothing is lost.
   * @default {5}
   */
  maxRestartsPerMinute?: number;
}

/**
 * The defaults of {@linkcode AggregationOptions}, but `workers`, which
 * depends on the machine (`max(1, navigator.hardwareConcurrency - 1)`).
 */
export const AGGREGATION_DEFAULTS: Readonly<
  Required<Omit<AggregationOptions, "workers">>
> = Object.freeze({
  batchSize: 4096,
  batchSlots: 64,
  spillBatches: 192,
  flushIntervalMs: 50,
  snapshotIntervalMs: 1000,
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 5000,
  maxRestartsPerMinute: 5,
});
