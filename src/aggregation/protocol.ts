// The messages between the main thread and an aggregator, one discriminated
// union per direction, shared by both sides. Internal.
import type { ExpositionFormat } from "../base/exposition.ts";
import type { DistributionSnapshot } from "../base/snapshot.ts";
import type { DriftEvent, ModelStatus } from "../drift/model_types.ts";
import type { MonitorDefinition } from "../drift/monitor.ts";

/**
 * Series ids are `index + generation * GENERATION`. The low 32 bits
 * (`id | 0`) index a dense table on the aggregator; the generation grows each
 * time an index is reused, so observations of a removed series still in a
 * batch, or made later through a child kept by user code, cannot land in the
 * series that took its place.
 */
export const GENERATION = 2 ** 32;

/**
 * Refused observations per family since the shard started, across
 * restarts: `[family id, count]` pairs, families without any left out.
 */
export type RefusedCounts =
  readonly (readonly [family: number, count: number])[];

/** What kind of series a family aggregates. */
export type AggregateKind = "histogram" | "summary";

/** A histogram or summary family, as an aggregator needs it to render. */
export interface FamilyDefinition {
  readonly id: number;
  readonly kind: AggregateKind;
  readonly name: string;
  /** Histogram upper bounds, ascending, without +Inf; empty for summaries. */
  readonly buckets: readonly number[];
  /** Summary quantiles in (0, 1); empty for histograms. */
  readonly quantiles: readonly number[];
  /** Summary window length in milliseconds. */
  readonly maxAgeMs: number;
  /** Summary window slices. */
  readonly ageBuckets: number;
  /** The value one HDR unit stands for, such as 1e-6 for microseconds. */
  readonly resolution: number;
}

/** The metrics of model monitors, each a family the monitors render. */
export const MODEL_METRICS = [
  "accuracy",
  "precision",
  "recall",
  "f1_score",
  "predictions",
  "drift_state",
  "drift_score",
  "drift_detected",
] as const;

/** One of {@linkcode MODEL_METRICS}. */
export type ModelMetric = typeof MODEL_METRICS[number];

/** A family whose samples every model monitor of the aggregator writes. */
export interface ModelFamilyDefinition {
  readonly id: number;
  readonly kind: "model";
  readonly name: string;
  readonly metric: ModelMetric;
}

/** A family of either sort. */
export type AnyFamilyDefinition = FamilyDefinition | ModelFamilyDefinition;

/**
 * The first value of a model record in a batch is the monitor's id, below
 * zero: a record is `[id, prediction, actual, proba]`, four values where an
 * observation takes two. A `prediction` of NaN makes it a reset.
 */
export const MODEL_RECORD = 4;

/**
 * The first value of an exemplar record: an observation that carries the
 * trace it was made in. The record is
 * `[EXEMPLAR, seriesId, value, t0, t1, t2, t3, s0, s1, time]`, ten values:
 * the trace id's 128 bits and the span id's 64 in 32-bit parts, and the
 * time in milliseconds since the Unix epoch.
 */
export const EXEMPLAR = -(2 ** 52);

/** Values an exemplar record takes in a batch. */
export const EXEMPLAR_RECORD = 10;

/** One series: its id, family and rendered label pairs. */
export interface SeriesDefinition {
  /** See {@linkcode GENERATION}. */
  readonly id: number;
  readonly family: number;
  /** `a="b",c="d"`, or "" for none. */
  readonly pairs: string;
  /** Creation time in seconds since the Unix epoch (OpenMetrics `_created`). */
  readonly created: number;
}

/** What an aggregator holds, counted so tests can check churn leaves nothing behind. */
export interface Holdings {
  /** Families defined and not removed. */
  readonly families: number;
  /** Series defined and not removed. */
  readonly series: number;
  /** The length of the series table: the most series held at once. */
  readonly indexes: number;
}

/** The figures `snapshot()` returns for a series. */
export type SeriesStats = DistributionSnapshot;

/** Main thread to aggregator. */
export type ToAggregator =
  | {
    readonly type: "init";
    /** The batch slots, each `slotLength` float64 values. */
    readonly ring: SharedArrayBuffer;
    /** One int32 per slot: the low 32 bits of the sequence number last written. */
    readonly fences: SharedArrayBuffer;
    /** float64 values per batch slot. */
    readonly slotLength: number;
    /**
     * How often to consider a snapshot of changed series while the batches
     * they would replace outweigh less than them, in ms (see
     * `serveAggregator()`).
     */
    readonly snapshotIntervalMs: number;
    /**
     * One int32 the aggregator adds to as it works, also inside long loops:
     * the main thread takes a change for a sign of life, so a busy
     * aggregator is not taken for a dead one.
     */
    readonly progress: SharedArrayBuffer;
  }
  | { readonly type: "family"; readonly family: AnyFamilyDefinition }
  /** A model monitor; its records follow in batches. */
  | { readonly type: "model"; readonly model: MonitorDefinition }
  /** A class a model learned; its index is the next one. */
  | { readonly type: "modelClass"; readonly id: number; readonly name: string }
  | {
    readonly type: "modelStatus";
    readonly request: number;
    readonly id: number;
  }
  /** Series defined since the last message, in definition order. */
  | { readonly type: "series"; readonly series: readonly SeriesDefinition[] }
  | { readonly type: "remove"; readonly id: number }
  /** Forgets a family with its series and its refusal counts. */
  | { readonly type: "removeFamily"; readonly id: number }
  | {
    readonly type: "restore";
    /** Snapshot records, one a series (see `forEachRecord()`). */
    readonly snapshots: Uint8Array<ArrayBuffer>;
    /**
     * Refused observations as of batch `refusedSeq`, the last the previous
     * aggregator reported applying: replayed batches up to it refuse
     * without counting again, later ones add to these.
     */
    readonly refused: RefusedCounts;
    readonly refusedSeq: number;
  }
  | {
    readonly type: "batch";
    readonly seq: number;
    /** The ring slot holding the batch, unless `data` carries it. */
    readonly slot: number;
    /** float64 values written: twice the observations. */
    readonly length: number;
    /** The values of a batch spilled outside the ring. */
    readonly data?: Float64Array;
  }
  | {
    readonly type: "render";
    readonly request: number;
    readonly families: readonly number[];
    readonly format: ExpositionFormat;
  }
  | { readonly type: "stats"; readonly request: number; readonly id: number }
  | { readonly type: "ping"; readonly request: number }
  | { readonly type: "close" };

/** Aggregator to main thread. */
export type FromAggregator =
  /** Sent first, once the aggregator's modules have loaded. */
  | { readonly type: "ready" }
  | {
    /**
     * A batch was applied: its ring slot may be reused. The main thread
     * keeps a copy until a snapshot covers it.
     */
    readonly type: "applied";
    readonly seq: number;
    /** Refused observations so far (see the snapshot's). */
    readonly refused: RefusedCounts;
    /**
     * The warnings and drifts of the batch's model records, in order;
     * absent when none. A replayed batch reports its events again: the
     * main thread tells them by the detector's `updates`.
     */
    readonly events?: readonly DriftEvent[];
  }
  | {
    readonly type: "snapshot";
    /** Every batch up to this sequence number is in the snapshot. */
    readonly seq: number;
    /**
     * The records of changed series only (see `forEachRecord()`), in a
     * buffer transferred with the message; the others stand as in earlier
     * snapshots.
     */
    readonly records: Uint8Array<ArrayBuffer>;
    /**
     * Observations refused, up to `seq`, because they would have made the
     * sum of their series infinite.
     */
    readonly refused: RefusedCounts;
  }
  | {
    readonly type: "rendered";
    readonly request: number;
    /**
     * The requested families' samples in UTF-8, in the requested order, in a
     * buffer transferred with the message: family `i` ends at `ends[i]`.
     */
    readonly bytes: Uint8Array<ArrayBuffer>;
    readonly ends: readonly number[];
  }
  | {
    readonly type: "stats";
    readonly request: number;
    readonly stats: SeriesStats | undefined;
  }
  | {
    readonly type: "modelStatus";
    readonly request: number;
    readonly status: ModelStatus | undefined;
  }
  | {
    readonly type: "pong";
    readonly request: number;
    readonly seq: number;
    readonly held: Holdings;
  };
