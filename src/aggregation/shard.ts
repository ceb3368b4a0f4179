// The main thread's side of one aggregator: the batch ring the hot path
// writes into, retention until a snapshot covers a batch, requests, and
// restart with restore and replay. Internal.
import { SnapshotStore } from "./snapshots.ts";
import type { DriftEvent } from "../drift/model_types.ts";
import type { MonitorDefinition } from "../drift/monitor.ts";
import {
  type AnyFamilyDefinition,
  type FromAggregator,
  GENERATION,
  type Holdings,
  type RefusedCounts,
  type SeriesDefinition,
  type ToAggregator,
} from "./protocol.ts";

/** A live aggregator: a worker, or an endpoint on this thread. */
export interface Connection {
  readonly port: MessagePort;
  /** Whether it runs on this thread, and so cannot hang on its own. */
  readonly inThread: boolean;
  /** Stops it for good; no message is answered afterwards. */
  terminate(): void;
}

/** Why an aggregator was given up. */
export interface ShardFailure {
  readonly reason: string;
  /**
   * Whether it failed with an error before it said it was ready: its
   * modules did not load, and a restart would fail alike.
   */
  readonly unloadable: boolean;
}

/** Options of {@linkcode Shard}. */
export interface ShardOptions {
  readonly index: number;
  /** Batch slots in the ring. */
  readonly slots: number;
  /** Batches beyond the ring, allocated only while the ring is full. */
  readonly spillBatches: number;
  /** Observations per batch. */
  readonly batchSize: number;
  readonly snapshotIntervalMs: number;
  /** Starts an aggregator; `onFailure` reports its death. */
  readonly connect: (onFailure: (reason: string) => void) => Connection;
  /** Called when the aggregator died. */
  readonly onFailure: (shard: Shard, failure: ShardFailure) => void;
  /** Called when the aggregator first reports a refusal in a family. */
  readonly onRefused: (family: number) => void;
  /**
   * Called with the warnings and drifts of each batch applied, in order. A
   * batch replayed after a restart reports its events again.
   */
  readonly onDriftEvents?: (events: readonly DriftEvent[]) => void;
  /** Called when a watch went with the series it watched. */
  readonly onWatchRemoved?: (shard: Shard, id: number) => void;
}

interface PendingRequest {
  readonly message: ToAggregator & { readonly request: number };
  readonly resolve: (message: FromAggregator) => void;
  readonly reject: (error: Error) => void;
}

interface PostedBatch {
  readonly seq: number;
  /** The ring slot, {@linkcode SPILL} or, once applied, {@linkcode LOGGED}. */
  slot: number;
  readonly length: number;
  /** The values of a spilled or logged batch, kept for replay. */
  data?: Float64Array;
}

const NO_BATCH = new Float64Array(0);
/** `#slot` of a batch filled in a spill buffer rather than the ring. */
const SPILL = -2;
/** `#slot` while no batch is being filled. */
const NONE = -1;
/** The slot of a batch applied and copied out of the ring, kept for replay. */
const LOGGED = -3;
/** Generations an index of the series table goes through: ids stay below 2^53. */
const GENERATIONS = 2 ** 21;

/**
 * The id of a series created in a removed family, through a metric kept
 * after it was unregistered: past every generation, so it names no series
 * and its observations are skipped. Its low 32 bits are 0, an index like
 * any other, which keeps the aggregator's apply loop on its fast path (a
 * negative index would not).
 */
export const DETACHED: number = GENERATIONS * GENERATION;

/**
 * One shard. The hot path reads and writes `buf`, `pos` and `end` directly:
 * `buf[pos] = seriesId; buf[pos + 1] = value; pos += 2`, calling
 * {@linkcode Shard.rotate} when `pos` reaches `end`.
 */
export class Shard {
  /** The batch being filled: a view of one ring slot. */
  buf: Float64Array = NO_BATCH;
  /** The next free index in `buf`. */
  pos = 0;
  /** `buf.length`, or 0 while no slot is free. */
  end = 0;
  /** Observations that found no free slot and were dropped. */
  dropped = 0;

  readonly index: number;
  readonly #options: ShardOptions;
  readonly #ring: SharedArrayBuffer;
  readonly #fences: SharedArrayBuffer;
  readonly #fenceView: Int32Array;
  /** What the aggregator adds to as it works: see the `init` message. */
  readonly #progress = new Int32Array(new SharedArrayBuffer(4));
  /** `#progress` when last read. */
  #lastProgress = 0;
  readonly #views: Float64Array[];
  readonly #free: number[];
  #slot = NONE;
  #spilled = 0;
  #seq = 0;
  /** Posted batches no snapshot covers yet, oldest first: the replay log. */
  readonly #retained: PostedBatch[] = [];
  readonly #families = new Map<number, AnyFamilyDefinition>();
  /**
   * Model monitors by id, with the classes they learned since: what a
   * restarted aggregator is sent. A model stays; a watch goes with its
   * series.
   */
  readonly #models = new Map<number, MonitorDefinition>();
  /** Model monitors defined so far: ids are never reused. */
  #modelCount = 0;
  readonly #series = new Map<number, SeriesDefinition>();
  /**
   * Series defined and not yet sent: sent in one message ahead of the next
   * message, so defining many series costs one message, not one each.
   */
  #unsent: SeriesDefinition[] = [];
  /** The newest snapshot record of each series. */
  readonly #snapshots = new SnapshotStore();
  readonly #pending = new Map<number, PendingRequest>();
  /**
   * Refused observations by family as of the newest batch applied: what a
   * new aggregator starts from; it counts only the refusals of batches
   * after it (see the `restore` message).
   */
  readonly #refused = new Map<number, number>();
  /** The sequence number `#refused` is as of. */
  #refusedSeq = -1;
  /** The first batch of `#retained` not yet applied and logged. */
  #logCursor = 0;
  /** Buffers of logged batches a snapshot covered, for the next ones. */
  readonly #logBuffers: Float64Array[] = [];
  /** Series-table indexes of removed series, for reuse. */
  readonly #freeIndexes: number[] = [];
  /** The generation of the next series at each series-table index. */
  readonly #generations: number[] = [];
  #nextRequest = 0;
  #sent = 0;
  #connection: Connection | undefined;
  /** Whether the connected aggregator said it was ready. */
  #ready = false;
  #connector: ShardOptions["connect"];
  #lastHeard = performance.now();
  #closed = false;

  constructor(options: ShardOptions) {
    this.index = options.index;
    this.#options = options;
    this.#connector = options.connect;
    const slotLength = options.batchSize * 2;
    this.#ring = new SharedArrayBuffer(
      options.slots * slotLength * Float64Array.BYTES_PER_ELEMENT,
    );
    this.#fences = new SharedArrayBuffer(
      options.slots * Int32Array.BYTES_PER_ELEMENT,
    );
    this.#fenceView = new Int32Array(this.#fences);
    this.#views = Array.from(
      { length: options.slots },
      (_, slot) =>
        new Float64Array(this.#ring, slot * slotLength * 8, slotLength),
    );
    // A stack: a quiet service keeps reusing the same few slots, so the
    // memory it touches stays small.
    this.#free = Array.from(
      { length: options.slots },
      (_, i) => options.slots - 1 - i,
    );
    this.#take();
  }

  /**
   * Whether observations or series were recorded here and not yet sent to
   * the aggregator.
   */
  get unflushed(): boolean {
    return this.pos > 0 || this.#unsent.length > 0;
  }

  /**
   * Messages sent to the aggregator so far (or kept for one restarting):
   * with {@linkcode unflushed}, whether anything may have been recorded
   * since a given moment.
   */
  get sent(): number {
    return this.#sent;
  }

  /** Batches posted and not yet covered by a snapshot. */
  get retainedBatches(): number {
    return this.#retained.length;
  }

  /**
   * Milliseconds since the aggregator last said anything or showed progress
   * in shared memory: one rendering or restoring many series stays alive.
   */
  get silentFor(): number {
    const now = performance.now();
    const progress = Atomics.load(this.#progress, 0);
    if (progress !== this.#lastProgress) {
      this.#lastProgress = progress;
      this.#lastHeard = now;
    }
    return now - this.#lastHeard;
  }

  /** Whether the aggregator runs on this thread. */
  get inThread(): boolean {
    return this.#connection?.inThread ?? false;
  }

  /** Whether an aggregator is connected (false while a restart waits). */
  get connected(): boolean {
    return this.#connection !== undefined;
  }

  /** Refused observations by family id, as of the last batch applied. */
  get refused(): ReadonlyMap<number, number> {
    return this.#refused;
  }

  /**
   * What this side holds to restore an aggregator: its definitions and
   * snapshots, and the length of its series table.
   */
  get held(): Holdings & { readonly snapshots: number } {
    return {
      families: this.#families.size,
      series: this.#series.size,
      indexes: this.#generations.length,
      snapshots: this.#snapshots.size,
    };
  }

  /**
   * Starts (or restarts) the aggregator, restoring and replaying. A
   * `connector` given here replaces the one of the options from now on.
   */
  connect(connector?: ShardOptions["connect"]): void {
    if (this.#closed) return;
    if (connector !== undefined) this.#connector = connector;
    const connection = this.#connector((reason) =>
      this.#failed(connection, { reason, unloadable: !this.#ready })
    );
    this.#connection = connection;
    this.#ready = false;
    this.#lastHeard = performance.now();
    connection.port.onmessage = (event: MessageEvent<FromAggregator>) =>
      this.#receive(event.data);
    const post = (message: ToAggregator) =>
      connection.port.postMessage(message);
    post({
      type: "init",
      ring: this.#ring,
      fences: this.#fences,
      slotLength: this.#options.batchSize * 2,
      snapshotIntervalMs: this.#options.snapshotIntervalMs,
      progress: this.#progress.buffer as SharedArrayBuffer,
    });
    for (const family of this.#families.values()) {
      post({ type: "family", family });
    }
    // The unsent ones too: every definition goes in this one message.
    this.#unsent = [];
    if (this.#series.size > 0) {
      post({ type: "series", series: [...this.#series.values()] });
    }
    // After the series: a watch finds its series defined.
    for (const model of this.#models.values()) post({ type: "model", model });
    if (this.#snapshots.size > 0 || this.#refused.size > 0) {
      const snapshots = this.#snapshots.concat();
      connection.port.postMessage(
        {
          type: "restore",
          snapshots,
          refused: [...this.#refused],
          refusedSeq: this.#refusedSeq,
        } satisfies ToAggregator,
        [snapshots.buffer],
      );
    }
    for (const batch of this.#retained) post(batchMessage(batch));
    for (const pending of this.#pending.values()) post(pending.message);
  }

  /** Stops the aggregator after an outside failure report (heartbeat). */
  fail(reason: string): void {
    if (this.#connection !== undefined) {
      this.#failed(this.#connection, { reason, unloadable: false });
    }
  }

  defineFamily(family: AnyFamilyDefinition): void {
    this.#families.set(family.id, family);
    this.#post({ type: "family", family });
  }

  /**
   * Forgets a family: its definition, its series with their snapshots (so
   * a restarted aggregator does not get them back) and its refusal counts,
   * here and in the aggregator. The series' indexes are reused in a new
   * generation, so observations still made through their children go
   * nowhere.
   */
  removeFamily(id: number): void {
    if (!this.#families.delete(id)) return;
    for (const series of this.#series.values()) {
      if (series.family === id) this.#forget(series.id);
    }
    this.#refused.delete(id);
    this.#post({ type: "removeFamily", id });
  }

  /**
   * Defines a series and returns its id: a series-table index, dense on
   * this shard and reused, in a new generation (see `GENERATION`). A
   * series of a removed family gets {@linkcode DETACHED}, and nothing is
   * sent: its aggregator would not know the family.
   */
  defineSeries(family: number, pairs: string, created: number): number {
    if (!this.#families.has(family)) return DETACHED;
    const index = this.#freeIndexes.pop() ?? this.#generations.push(0) - 1;
    const id = index + this.#generations[index]! * GENERATION;
    const series = { id, family, pairs, created };
    this.#series.set(id, series);
    this.#unsent.push(series);
    return id;
  }

  /**
   * Declares a model monitor and returns its id, below zero: its records
   * are `[id, prediction, actual, proba]` (see `MODEL_RECORD`).
   */
  defineModel(definition: Omit<MonitorDefinition, "id">): number {
    const id = -(++this.#modelCount);
    const model = { ...definition, id, classes: [...definition.classes] };
    this.#models.set(id, model);
    this.#post({ type: "model", model });
    return id;
  }

  /**
   * Tells the aggregator of a class a model learned, ahead of the batch
   * that holds its first record.
   */
  addModelClass(id: number, name: string): void {
    const model = this.#models.get(id);
    if (model === undefined) return;
    this.#models.set(id, { ...model, classes: [...model.classes, name] });
    this.#post({ type: "modelClass", id, name });
  }

  /**
   * How many more records of `width` values (2 an observation, 4 a model
   * record) the hot path can write before one is dropped: what fits in the
   * rest of the batch being filled, in the free slots and in the spill
   * batches, a record never split across two.
   */
  roomFor(width: number): number {
    const perBatch = Math.floor(this.#options.batchSize * 2 / width);
    const batches = this.#free.length + this.#options.spillBatches -
      this.#spilled;
    return Math.floor((this.end - this.pos) / width) + batches * perBatch;
  }

  /** Counts a record the hot path could not write. */
  drop(): void {
    this.dropped++;
  }

  removeSeries(id: number): void {
    if (!this.#series.has(id)) return;
    this.#forget(id);
    this.#post({ type: "remove", id });
  }

  /**
   * Posts the full batch and takes a free slot, or a spill buffer while the
   * ring is full. Returns the position to write at, or -1 when neither is
   * left: the observation is then dropped and counted.
   */
  rotate(): number {
    this.flush();
    if (this.end === 0) {
      this.dropped++;
      return -1;
    }
    return this.pos;
  }

  /** Posts the series defined since the last message and the batch being filled. */
  flush(): void {
    this.#sendSeries();
    if (this.#slot === NONE) {
      this.#take();
      return;
    }
    if (this.pos === 0) return;
    const seq = this.#seq++;
    let batch: PostedBatch;
    if (this.#slot === SPILL) {
      batch = { seq, slot: SPILL, length: this.pos, data: this.buf };
    } else {
      batch = { seq, slot: this.#slot, length: this.pos };
      // The release half of the fence: the values written above are
      // visible to the aggregator once it reads this.
      Atomics.store(this.#fenceView, batch.slot, seq | 0);
    }
    this.#retained.push(batch);
    this.#post(batchMessage(batch));
    this.#slot = NONE;
    this.#take();
  }

  /** Sends a request; it is sent again to a restarted aggregator. */
  request(
    message: ToAggregator & { readonly request: number },
  ): Promise<FromAggregator> {
    if (this.#closed) {
      return Promise.reject(
        new Error(`Cannot query aggregation shard ${this.index}: it is closed`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(message.request, { message, resolve, reject });
      this.#post(message);
    });
  }

  /** A request id unique on this shard. */
  nextRequest(): number {
    return this.#nextRequest++;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop();
    for (const pending of this.#pending.values()) {
      pending.reject(
        new Error(`Cannot query aggregation shard ${this.index}: it closed`),
      );
    }
    this.#pending.clear();
  }

  /**
   * Drops a series' definition and snapshot and frees its index; a watch of
   * it goes too (its aggregator drops it with the series).
   */
  #forget(id: number): void {
    this.#series.delete(id);
    this.#snapshots.delete(id);
    for (const [model, definition] of this.#models) {
      if (definition.watch !== id) continue;
      this.#models.delete(model);
      this.#snapshots.delete(model);
      this.#options.onWatchRemoved?.(this, model);
    }
    const index = id % GENERATION;
    const generation = (id - index) / GENERATION + 1;
    // An index that went through every generation is retired: one table
    // entry per 2^21 series removed from it.
    if (generation < GENERATIONS) {
      this.#generations[index] = generation;
      this.#freeIndexes.push(index);
    }
  }

  #take(): void {
    const slot = this.#free.pop();
    if (slot !== undefined) {
      this.#slot = slot;
      this.buf = this.#views[slot]!;
    } else if (this.#spilled < this.#options.spillBatches) {
      // A burst, or a worker still starting: spill rather than drop.
      this.#spilled++;
      this.#slot = SPILL;
      this.buf = new Float64Array(this.#options.batchSize * 2);
    } else {
      this.#slot = NONE;
      this.buf = NO_BATCH;
    }
    this.end = this.buf.length;
    this.pos = 0;
  }

  #post(message: ToAggregator): void {
    this.#sendSeries();
    this.#sent++;
    // While a restart waits, messages are not lost: connect() sends the
    // definitions, snapshots, retained batches and pending requests.
    this.#connection?.port.postMessage(message);
  }

  #sendSeries(): void {
    if (this.#unsent.length === 0) return;
    const series = this.#unsent;
    this.#unsent = [];
    this.#sent++;
    this.#connection?.port.postMessage({ type: "series", series });
  }

  #receive(message: FromAggregator): void {
    this.#lastHeard = performance.now();
    if (message.type === "ready") {
      this.#ready = true;
      return;
    }
    if (message.type === "applied") {
      this.#logApplied(message.seq);
      this.#updateRefused(message.seq, message.refused);
      if (message.events !== undefined) {
        this.#options.onDriftEvents?.(message.events);
      }
      return;
    }
    if (message.type === "snapshot") {
      // Snapshots can arrive out of order: MessagePort.close() dispatches
      // the messages queued on a port before the one its receive loop
      // already took. So the newest wins, series by series: an older one
      // must not undo a series whose batches a newer one freed, but may
      // hold series the newer one left out as unchanged.
      this.#snapshots.receive(
        message.seq,
        message.records,
        (id) => id < 0 ? this.#models.has(id) : this.#series.has(id),
      );
      this.#updateRefused(message.seq, message.refused);
      let dropped = 0;
      while (
        this.#retained.length > 0 && this.#retained[0]!.seq <= message.seq
      ) {
        this.#release(this.#retained.shift()!);
        dropped++;
      }
      this.#logCursor = Math.max(0, this.#logCursor - dropped);
      if (this.#slot === NONE) this.#take();
      return;
    }
    const pending = this.#pending.get(message.request);
    if (pending === undefined) return;
    this.#pending.delete(message.request);
    pending.resolve(message);
  }

  /**
   * Copies the batches applied up to `seq` out of the ring, so their slots
   * serve again while the copies wait for a snapshot to cover them.
   */
  #logApplied(seq: number): void {
    const retained = this.#retained;
    while (
      this.#logCursor < retained.length && retained[this.#logCursor]!.seq <= seq
    ) {
      const batch = retained[this.#logCursor++]!;
      if (batch.slot >= 0) {
        const copy = this.#logBuffers.pop() ??
          new Float64Array(this.#options.batchSize * 2);
        copy.set(this.#views[batch.slot]!.subarray(0, batch.length));
        batch.data = copy;
        this.#free.push(batch.slot);
      } else if (batch.slot === SPILL) this.#spilled--;
      batch.slot = LOGGED;
    }
    if (this.#slot === NONE) this.#take();
  }

  /** Frees what a batch a snapshot covers still holds. */
  #release(batch: PostedBatch): void {
    if (batch.slot >= 0) this.#free.push(batch.slot);
    else if (batch.slot === SPILL) this.#spilled--;
    // Its copy serves the next batch logged: allocating one each time would
    // leave the garbage collector hundreds of megabytes to find. As many are
    // kept as the ring and spill hold, the memory the hot path may use.
    else if (
      batch.data !== undefined &&
      this.#logBuffers.length < this.#options.slots + this.#options.spillBatches
    ) this.#logBuffers.push(batch.data);
  }

  /** Takes the refusal counts an aggregator reported as of `seq`. */
  #updateRefused(seq: number, counts: RefusedCounts): void {
    if (seq < this.#refusedSeq) return;
    this.#refusedSeq = seq;
    // Each report carries every family's count so far.
    for (const [family, count] of counts) {
      // A report made before the aggregator removed a family.
      if (!this.#families.has(family)) continue;
      if (!this.#refused.has(family)) this.#options.onRefused(family);
      this.#refused.set(family, count);
    }
  }

  #failed(connection: Connection, failure: ShardFailure): void {
    if (connection !== this.#connection) return;
    this.#stop();
    this.#options.onFailure(this, failure);
  }

  #stop(): void {
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection === undefined) return;
    connection.port.onmessage = null;
    connection.terminate();
  }
}

function batchMessage(batch: PostedBatch): ToAggregator {
  const { seq, slot, length, data } = batch;
  // A spilled batch travels as a copy: the original stays for replay.
  return data === undefined
    ? { type: "batch", seq, slot, length }
    : { type: "batch", seq, slot, length, data: data.subarray(0, length) };
}
