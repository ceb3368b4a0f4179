// The aggregation shards of one registry: workers, flush and heartbeat
// timers, restarts with backoff, and scrape rounds. Internal.
import type { Logger } from "../base/log.ts";
import type { ExpositionFormat } from "../base/exposition.ts";
import {
  inThreadConnection,
  unreadableWorkerPaths,
  workerConnection,
} from "./connections.ts";
import type { AnyFamilyDefinition, Holdings, SeriesStats } from "./protocol.ts";
import type { DriftEvent, ModelStatus } from "../drift/model_types.ts";
import { Shard, type ShardFailure, type ShardOptions } from "./shard.ts";
import {
  AGGREGATION_DEFAULTS as DEFAULTS,
  type AggregationOptions,
  type WorkerStatus,
} from "./types.ts";

const FIRST_BACKOFF_MS = 50;
const decoder = new TextDecoder();
const MAX_BACKOFF_MS = 5000;

function positiveInteger(
  options: AggregationOptions,
  key: keyof AggregationOptions,
  fallback: number,
  minimum = 1,
): number {
  const value = options[key] ?? fallback;
  if (!Number.isInteger(value) || value < minimum) {
    throw new RangeError(
      `Cannot start aggregation: ${key} must be an integer of at least ${minimum}, got ${value}`,
    );
  }
  return value;
}

/** A definition without its id, which the pool gives. */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/** Each family's samples from a scrape round: UTF-8 chunks, one a shard that holds any. */
type RoundTexts = Map<number, Uint8Array<ArrayBuffer>[]>;

/** A scrape round of one format: the one sent, and the one waiting for it. */
interface RoundState {
  readonly current: Promise<RoundTexts>;
  /** True in the tick the round was sent: later callers may still join. */
  joinable: boolean;
  /** Each shard's `sent` once the round was sent. */
  readonly sent: readonly number[];
  next: Promise<RoundTexts> | undefined;
}

/** The shards of a registry and the timers that keep them going. */
export class AggregationPool {
  readonly shards: readonly Shard[];
  /** Worker restarts so far. */
  restarts = 0;
  readonly #logger: Logger;
  readonly #options: Required<AggregationOptions>;
  /** Families not removed, in definition order: what render rounds ask for. */
  readonly #families = new Map<number, AnyFamilyDefinition>();
  /** Where the warnings and drifts of model records go (the registry). */
  onDriftEvents: (events: readonly DriftEvent[]) => void = () => {};
  /** Where the end of a watch, with the series it watched, is told. */
  onWatchRemoved: (shard: Shard, id: number) => void = () => {};
  /** The id of the next family; ids are never reused. */
  #nextFamily = 0;
  readonly #restartTimes: number[][];
  /** Shards moved to the main thread, with why. */
  readonly #fallbacks = new Map<number, string>();
  readonly #restartTimers = new Set<ReturnType<typeof setTimeout>>();
  readonly #rounds = new Map<ExpositionFormat, RoundState>();
  /** Families whose first refusal was logged. */
  readonly #refusalsLogged = new Set<number>();
  /** Whether a worker that could not load was logged. */
  #unloadableLogged = false;
  readonly #flushTimer: ReturnType<typeof setInterval>;
  readonly #heartbeatTimer: ReturnType<typeof setInterval>;
  #nextShard = 0;
  #closed = false;

  /**
   * @param options Tuning; see {@linkcode AggregationOptions}.
   * @param logger Where failures are logged.
   * @param connect Starts a worker aggregator; tests wrap it to reach the
   * worker they kill.
   */
  constructor(
    options: AggregationOptions,
    logger: Logger,
    connect: ShardOptions["connect"] = workerConnection,
  ) {
    const cores = navigator.hardwareConcurrency ?? 2;
    this.#options = {
      workers: positiveInteger(
        options,
        "workers",
        Math.max(1, cores - 1),
        0,
      ),
      batchSize: positiveInteger(options, "batchSize", DEFAULTS.batchSize),
      batchSlots: positiveInteger(
        options,
        "batchSlots",
        DEFAULTS.batchSlots,
        2,
      ),
      spillBatches: positiveInteger(
        options,
        "spillBatches",
        DEFAULTS.spillBatches,
        0,
      ),
      flushIntervalMs: positiveInteger(
        options,
        "flushIntervalMs",
        DEFAULTS.flushIntervalMs,
      ),
      snapshotIntervalMs: positiveInteger(
        options,
        "snapshotIntervalMs",
        DEFAULTS.snapshotIntervalMs,
      ),
      heartbeatIntervalMs: positiveInteger(
        options,
        "heartbeatIntervalMs",
        DEFAULTS.heartbeatIntervalMs,
      ),
      heartbeatTimeoutMs: positiveInteger(
        options,
        "heartbeatTimeoutMs",
        DEFAULTS.heartbeatTimeoutMs,
      ),
      maxRestartsPerMinute: positiveInteger(
        options,
        "maxRestartsPerMinute",
        DEFAULTS.maxRestartsPerMinute,
        0,
      ),
    };
    this.#logger = logger;
    const count = Math.max(1, this.#options.workers);
    let inThread = this.#options.workers === 0;
    // Found before any worker starts: each would fail to load, be restarted
    // up to the cap and log every time.
    const unreadable = inThread ? [] : unreadableWorkerPaths();
    if (unreadable.length > 0) {
      inThread = true;
      for (let index = 0; index < count; index++) {
        this.#fallbacks.set(index, "its modules may not be read");
      }
      logger.warn(
        `Cannot start aggregation workers: Deno may not read their modules in ${
          unreadable.join(", ")
        }: aggregating on the main thread instead; add --allow-read=${
          unreadable.join(",")
        } to use workers`,
        { event: "aggregation.worker_unreadable", paths: unreadable },
      );
    }
    this.#restartTimes = Array.from({ length: count }, () => []);
    this.shards = Array.from({ length: count }, (_, index) => {
      const shard = new Shard({
        index,
        slots: this.#options.batchSlots,
        spillBatches: this.#options.spillBatches,
        batchSize: this.#options.batchSize,
        snapshotIntervalMs: this.#options.snapshotIntervalMs,
        connect: inThread ? inThreadConnection : connect,
        onFailure: (failed, failure) => this.#restart(failed, failure),
        onRefused: (family) => this.#refusedFirst(family),
        onDriftEvents: (events) => this.onDriftEvents(events),
        onWatchRemoved: (shard, id) => this.onWatchRemoved(shard, id),
      });
      shard.connect();
      return shard;
    });
    this.#flushTimer = setInterval(
      () => this.flush(),
      this.#options.flushIntervalMs,
    );
    this.#heartbeatTimer = setInterval(
      () => this.#heartbeat(),
      this.#options.heartbeatIntervalMs,
    );
    // Telemetry timers must not keep a process alive that is done otherwise.
    Deno.unrefTimer(this.#flushTimer);
    Deno.unrefTimer(this.#heartbeatTimer);
  }

  /** Observations per batch: a model record takes two. */
  get batchSize(): number {
    return this.#options.batchSize;
  }

  /** Observations dropped because every batch slot was waiting. */
  get dropped(): number {
    let total = 0;
    for (const shard of this.shards) total += shard.dropped;
    return total;
  }

  /**
   * Observations refused because they would have made the sum of their
   * series infinite, by family id, summed over the shards. Cumulative: a
   * removed series or a restarted worker takes nothing away. As of each
   * shard's last batch applied, so at most `flushIntervalMs` and the
   * worker's backlog behind.
   */
  refusedByFamily(): ReadonlyMap<number, number> {
    const totals = new Map<number, number>();
    for (const shard of this.shards) {
      for (const [family, count] of shard.refused) {
        totals.set(family, (totals.get(family) ?? 0) + count);
      }
    }
    return totals;
  }

  /** How each worker is doing. */
  status(): WorkerStatus[] {
    return this.shards.map((shard) => {
      const silentForMs = shard.inThread ? 0 : shard.silentFor;
      return {
        index: shard.index,
        inThread: shard.inThread,
        fallback: this.#fallbacks.has(shard.index),
        fallbackReason: this.#fallbacks.get(shard.index),
        connected: shard.connected,
        responsive: shard.connected &&
          silentForMs <= this.#options.heartbeatTimeoutMs,
        silentForMs,
        retainedBatches: shard.retainedBatches,
      };
    });
  }

  /** Declares a family on every shard and returns its id. */
  defineFamily(definition: WithoutId<AnyFamilyDefinition>): number {
    // Never reused, so a refusal count or a late message of a removed
    // family cannot be taken for a newer one's.
    const family = { ...definition, id: this.#nextFamily++ };
    this.#families.set(family.id, family);
    for (const shard of this.shards) shard.defineFamily(family);
    return family.id;
  }

  /**
   * Forgets a family everywhere: it leaves the render rounds, and every
   * shard drops its series, their snapshots and its refusal counts, and
   * tells its aggregator, which frees their HDR memory. Observations still
   * made through its children go nowhere. Read the family's refusals from
   * {@linkcode refusedByFamily} first: they go too.
   *
   * @param id The id {@linkcode defineFamily} returned.
   */
  removeFamily(id: number): void {
    if (!this.#families.delete(id)) return;
    this.#refusalsLogged.delete(id);
    for (const shard of this.shards) shard.removeFamily(id);
  }

  /**
   * What each shard's aggregator holds, after every message sent before the
   * call: for tests that churn families and series.
   */
  async held(): Promise<Holdings[]> {
    const replies = await Promise.all(
      this.shards.map((shard) =>
        shard.request({ type: "ping", request: shard.nextRequest() })
      ),
    );
    return replies.map((reply) => {
      if (reply.type !== "pong") {
        throw new TypeError(
          `Cannot read what an aggregator holds: expected a pong, got ${reply.type}`,
        );
      }
      return reply.held;
    });
  }

  /** The shard for a new series or model monitor: round robin. */
  place(): Shard {
    const shard = this.shards[this.#nextShard]!;
    this.#nextShard = (this.#nextShard + 1) % this.shards.length;
    return shard;
  }

  /** A model's figures, after every record made before the call. */
  async modelStatus(shard: Shard, id: number): Promise<ModelStatus> {
    shard.flush();
    const reply = await shard.request({
      type: "modelStatus",
      request: shard.nextRequest(),
      id,
    });
    if (reply.type !== "modelStatus" || reply.status === undefined) {
      throw new RangeError(
        `Cannot read model monitor ${id} of shard ${shard.index}: its aggregator does not know it`,
      );
    }
    return reply.status;
  }

  /** Places a new series on the next shard, round robin. */
  defineSeries(
    family: number,
    pairs: string,
    created: number,
  ): { shard: Shard; id: number } {
    const shard = this.place();
    return { shard, id: shard.defineSeries(family, pairs, created) };
  }

  /** Posts every batch being filled. */
  flush(): void {
    for (const shard of this.shards) shard.flush();
  }

  /**
   * The samples of a family, rendered by the shards. The first call posts
   * one request per shard for every family at once, so the workers render
   * while the main thread renders its own families; calls in the same tick
   * share it unless something was recorded between them. Calls made while it is in flight share the next one, sent when
   * it returns: concurrent scrapes cost two rounds, not one each, and each
   * still sees every observation made before its call.
   */
  async render(family: number, format: ExpositionFormat): Promise<string> {
    let text = "";
    for (const chunk of await this.renderChunks(family, format)) {
      text += decoder.decode(chunk);
    }
    return text;
  }

  /**
   * The samples of a family as {@linkcode render} gives them, in UTF-8: one
   * chunk per shard holding any, each a view of the buffer its worker
   * rendered into, so nothing is copied or decoded.
   */
  async renderChunks(
    family: number,
    format: ExpositionFormat,
  ): Promise<Uint8Array<ArrayBuffer>[]> {
    return (await this.#round(format)).get(family) ?? [];
  }

  #round(format: ExpositionFormat): Promise<RoundTexts> {
    const state = this.#rounds.get(format);
    if (state === undefined) return this.#startRound(format);
    // A round sent in this tick, but only if nothing was recorded since:
    // no observation waits in a batch and no message went out (a batch, a
    // series, a removal) after the round's requests.
    const quiet = this.shards.every((shard, i) =>
      !shard.unflushed && shard.sent === state.sent[i]
    );
    if (state.joinable && quiet) return state.current;
    state.next ??= state.current.then(
      () => this.#startRound(format),
      () => this.#startRound(format),
    );
    return state.next;
  }

  #startRound(format: ExpositionFormat): Promise<RoundTexts> {
    const current = this.#renderRound([...this.#families.keys()], format);
    const state: RoundState = {
      current,
      joinable: true,
      sent: this.shards.map((shard) => shard.sent),
      next: undefined,
    };
    this.#rounds.set(format, state);
    queueMicrotask(() => state.joinable = false);
    const settle = () => {
      if (this.#rounds.get(format) === state && state.next === undefined) {
        this.#rounds.delete(format);
      }
    };
    current.then(settle, settle);
    return current;
  }

  /** The figures of one series, after every observation made before the call. */
  async stats(shard: Shard, id: number): Promise<SeriesStats | undefined> {
    shard.flush();
    const reply = await shard.request({
      type: "stats",
      request: shard.nextRequest(),
      id,
    });
    return reply.type === "stats" ? reply.stats : undefined;
  }

  /** Stops every timer and aggregator. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#flushTimer);
    clearInterval(this.#heartbeatTimer);
    for (const timer of this.#restartTimers) clearTimeout(timer);
    this.#restartTimers.clear();
    for (const shard of this.shards) shard.close();
  }

  async #renderRound(
    families: readonly number[],
    format: ExpositionFormat,
  ): Promise<RoundTexts> {
    const replies = await Promise.all(this.shards.map((shard) => {
      shard.flush();
      return shard.request({
        type: "render",
        request: shard.nextRequest(),
        families,
        format,
      });
    }));
    const texts: RoundTexts = new Map();
    families.forEach((family, i) => {
      const chunks: Uint8Array<ArrayBuffer>[] = [];
      for (const reply of replies) {
        if (reply.type !== "rendered") continue;
        const start = i === 0 ? 0 : reply.ends[i - 1]!;
        const end = reply.ends[i]!;
        if (end > start) chunks.push(reply.bytes.subarray(start, end));
      }
      texts.set(family, chunks);
    });
    return texts;
  }

  #heartbeat(): void {
    for (const shard of this.shards) {
      if (!shard.connected || shard.inThread) continue;
      if (shard.silentFor > this.#options.heartbeatTimeoutMs) {
        shard.fail(`no answer for ${Math.round(shard.silentFor)} ms`);
        continue;
      }
      shard.request({ type: "ping", request: shard.nextRequest() }).catch(
        (error: unknown) => {
          // A ping outstanding at close() is rejected; nothing to do.
          if (!(error instanceof Error)) throw error;
        },
      );
    }
  }

  #refusedFirst(family: number): void {
    if (this.#refusalsLogged.has(family)) return;
    this.#refusalsLogged.add(family);
    const name = this.#families.get(family)?.name;
    this.#logger.warn(
      `Cannot observe a value in "${name}": it would make the sum of its series infinite: refusing and counting such values`,
      { event: "aggregation.value_refused", metric: name },
    );
  }

  #restart(shard: Shard, { reason, unloadable }: ShardFailure): void {
    if (this.#closed) return;
    if (unloadable) {
      // Restarts would fail alike: one message, not one per attempt.
      this.#fallbacks.set(shard.index, "its worker could not load");
      if (!this.#unloadableLogged) {
        this.#unloadableLogged = true;
        this.#logger.error(
          `Cannot load the aggregation worker: ${reason}: its shard aggregates on the main thread instead`,
          {
            event: "aggregation.worker_unloadable",
            shard: shard.index,
            reason,
          },
        );
      }
      shard.connect(inThreadConnection);
      return;
    }
    this.restarts++;
    const now = performance.now();
    const times = this.#restartTimes[shard.index]!;
    times.push(now);
    while (times.length > 0 && times[0]! < now - 60_000) times.shift();
    // Doubles with each restart in the last minute, back to the first delay
    // once a minute passes without one.
    const backoff = Math.min(
      FIRST_BACKOFF_MS * 2 ** (times.length - 1),
      MAX_BACKOFF_MS,
    );
    const overCap = times.length > this.#options.maxRestartsPerMinute;
    this.#logger.error(
      overCap
        ? "Aggregation worker failed too often: its shard now aggregates on the main thread"
        : "Aggregation worker failed: restarting it, restoring its snapshot and replaying its batches",
      {
        event: overCap
          ? "aggregation.worker_fallback"
          : "aggregation.worker_restarted",
        shard: shard.index,
        reason,
        restartInMs: overCap ? 0 : backoff,
      },
    );
    if (overCap) {
      this.#fallbacks.set(shard.index, "its worker failed too often");
      shard.connect(inThreadConnection);
      return;
    }
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer);
      shard.connect();
    }, backoff);
    this.#restartTimers.add(timer);
  }
}
