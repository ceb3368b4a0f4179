// The aggregation state of one shard: pure, synchronous, testable without a
// Worker. Internal.
import { EXEMPLAR, EXEMPLAR_RECORD } from "./protocol.ts";
import type {
  AnyFamilyDefinition,
  FamilyDefinition,
  Holdings,
  ModelFamilyDefinition,
  RefusedCounts,
  SeriesDefinition,
  SeriesStats,
} from "./protocol.ts";
import type { DriftEvent, ModelStatus } from "../drift/model_types.ts";
import { ModelMonitor, type MonitorDefinition } from "../drift/monitor.ts";
import { renderModelFamily } from "./models.ts";
import type { ExpositionFormat } from "../base/exposition.ts";
import { formatBound, formatValue } from "../base/_text.ts";
import { HDR_MAX_UNITS, hdrIndex, quantilesOf, SparseCounts } from "./hdr.ts";
import { BucketLookup } from "./lookup.ts";
import { ByteArena } from "./arena.ts";
import {
  ByteReader,
  ByteWriter,
  forEachRecord,
  RECORD_HEADER,
} from "./codec.ts";

/** Families rendered in UTF-8: family `i` ends at byte `ends[i]`, where the next begins. */
export interface RenderedFamilies {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly ends: readonly number[];
}

/** Options of {@linkcode Aggregator}. */
export interface AggregatorOptions {
  /**
   * Called every {@linkcode PROGRESS_EVERY} series of a long loop (render,
   * snapshot, restore), so a busy aggregator can show it is alive.
   */
  readonly progress?: () => void;
}

/** Series a long loop handles between two calls of `progress`. */
export const PROGRESS_EVERY = 1024;

/** The quantiles `stats()` reports, ascending. */
const STATS_QUANTILES: readonly number[] = [0.5, 0.9, 0.95, 0.99, 0.999];

/** Converts a value to HDR units: rounded, clamped to [0, HDR_MAX_UNITS]. */
function toUnits(value: number, perUnit: number): number {
  const units = Math.round(value * perUnit);
  return units > 0 ? (units < HDR_MAX_UNITS ? units : HDR_MAX_UNITS) : 0;
}

/** What the series of a family share: their definition, lookup, scratch space and text. */
interface FamilyState {
  readonly definition: FamilyDefinition;
  /** Classic buckets by HDR index. */
  readonly lookup: BucketLookup;
  /**
   * HDR units per unit of the metric: `1 / resolution`, made a whole number
   * when it is one but for rounding, so dividing by it gives back the
   * shortest decimal (0.8903, not 0.8903000000000001).
   */
  readonly perUnit: number;
  /** Whether a histogram bound is below zero, so no sum is a counter. */
  readonly negativeBounds: boolean;
  /** `le="0.005"} ` and so on, +Inf last: the tail of each bucket label set. */
  readonly bucketTails: readonly string[];
  /** `quantile="0.5"} ` and so on, in the family's order. */
  readonly quantileTails: readonly string[];
  /** Summary quantiles ascending, and where each goes in the family's order. */
  readonly sortedQuantiles: readonly number[];
  readonly quantileOrder: readonly number[];
  /** Quantile values of the series being rendered, in HDR units. */
  readonly scratch: Float64Array;
  /** Where the HDR counts of the aggregator's series live. */
  readonly arena: ByteArena;
  /** Series in creation order. */
  readonly series: Set<SeriesState>;
}

/** What every series kind shares. */
abstract class SeriesState {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  dirty = false;
  /** What the series added to the aggregator's `dirtyBytes` when it turned dirty. */
  dirtyHint = 0;
  /** Monitors fed with each of the series' observations (`watch()`). */
  watchers: MonitorState[] | undefined = undefined;
  /** The series id, generation included, as batches carry it. */
  readonly id: number;
  readonly definition: SeriesDefinition;
  readonly family: FamilyState;

  constructor(definition: SeriesDefinition, family: FamilyState) {
    this.id = definition.id;
    this.definition = definition;
    this.family = family;
  }

  /** Records `value`; `sum` is the series' sum with it, checked finite. */
  abstract record(value: number, sum: number, now: number): void;
  /** Appends the series' sample lines in UTF-8. */
  abstract render(
    writer: ByteWriter,
    format: ExpositionFormat,
    now: number,
  ): void;
  /** Writes the HDR quantiles `qs` (ascending) in units into `out`, NaN when empty. */
  abstract quantileUnits(
    qs: readonly number[],
    out: Float64Array,
    now: number,
  ): void;
  /** Calls `fn` with each of the series' HDR counts. */
  abstract forEachCounts(fn: (counts: SparseCounts) => void): void;
  /** Writes what {@linkcode decode} reads back, after the totals. */
  protected abstract encodeBody(writer: ByteWriter): void;
  protected abstract decodeBody(reader: ByteReader, now: number): void;

  stats(now: number): SeriesStats {
    const units = this.family.scratch;
    this.quantileUnits(STATS_QUANTILES, units, now);
    const value = (i: number): number => this.fromUnits(units[i]!);
    return {
      count: this.count,
      sum: this.sum,
      min: this.count > 0 ? this.min : NaN,
      max: this.count > 0 ? this.max : NaN,
      mean: this.count > 0 ? this.sum / this.count : NaN,
      p50: value(0),
      p90: value(1),
      p95: value(2),
      p99: value(3),
      p999: value(4),
    };
  }

  /** A quantile in units as a value, clamped to the exact min and max. */
  protected fromUnits(units: number): number {
    if (Number.isNaN(units)) return NaN;
    const value = units / this.family.perUnit;
    return Math.min(Math.max(value, this.min), this.max);
  }

  /**
   * About the bytes {@linkcode encode} writes, rarely fewer: so a snapshot's
   * buffer is allocated once, not grown (each growth leaves the allocator a
   * block it keeps).
   */
  encodedSizeHint(): number {
    let distinct = 0;
    this.forEachCounts((counts) => distinct += counts.distinct);
    const { bucketTails, definition } = this.family;
    // Header and totals 44 bytes, a byte or two a bucket count, two or
    // three an HDR index (delta and count), a start time a summary slice.
    return 48 + bucketTails.length * 1.5 + distinct * 2.5 +
      definition.ageBuckets * 10;
  }

  /** Appends the series' record: header, totals, then its kind's body. */
  encode(writer: ByteWriter): void {
    writer.f64(this.id);
    const lengthAt = writer.skip(4);
    writer.f64(this.count);
    writer.f64(this.sum);
    writer.f64(this.min);
    writer.f64(this.max);
    this.encodeBody(writer);
    writer.u32At(lengthAt, writer.length - lengthAt - 4);
  }

  /** Reads a record's body, after its header, as {@linkcode encode} wrote it. */
  decode(reader: ByteReader, now: number): void {
    this.count = reader.f64();
    this.sum = reader.f64();
    this.min = reader.f64();
    this.max = reader.f64();
    this.decodeBody(reader, now);
  }

  protected recordTotals(value: number, sum: number): void {
    this.count++;
    this.sum = sum;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /**
   * `name_count`, `name_sum` and, in OpenMetrics, `name_created` lines. In
   * OpenMetrics a sum is a counter, so it is left out once it may fall: in a
   * histogram with a negative bound (which the spec names) and in a series
   * that observed a negative value. `_count` goes with it, as the spec
   * allows a histogram's `_count` only beside its `_sum` (and asks the same
   * of summaries); a histogram's `+Inf` bucket still holds the count.
   */
  protected renderTotals(writer: ByteWriter, format: ExpositionFormat): void {
    const { name } = this.family.definition;
    const { pairs } = this.definition;
    const labels = pairs === "" ? " " : `{${pairs}} `;
    const om = format === "openmetrics";
    if (!(om && (this.min < 0 || this.family.negativeBounds))) {
      writer.text(name);
      writer.text("_count");
      writer.text(labels);
      writer.text(formatValue(this.count, format));
      writer.text("\n");
      writer.text(name);
      writer.text("_sum");
      writer.text(labels);
      writer.text(formatValue(this.sum, format));
      writer.text("\n");
    }
    if (om) {
      writer.text(name);
      writer.text("_created");
      writer.text(labels);
      writer.text(formatValue(this.definition.created, format));
      writer.text("\n");
    }
  }
}

/**
 * A histogram: exact counts per classic bucket, and sparse HDR counts for
 * percentiles. Neither is allocated before the first observation.
 */
class HistogramState extends SeriesState {
  /** Non-cumulative counts per bucket, +Inf last. */
  #buckets: number[] | undefined;
  #hdr: SparseCounts | undefined;
  /** The latest exemplar of each bucket, once one came: OpenMetrics text. */
  #exemplars: (string | undefined)[] | undefined;

  /** Keeps `exemplar` (` # {...} value time`) as its bucket's latest. */
  exemplify(value: number, exemplar: Exemplar): void {
    const family = this.family;
    const bucket = value >= 0
      ? family.lookup.bucket(
        value,
        hdrIndex(toUnits(value, family.perUnit)),
      )
      : family.lookup.search(value);
    const exemplars = this.#exemplars ??= [];
    exemplars[bucket] =
      ` # {trace_id="${exemplar.traceId}",span_id="${exemplar.spanId}"} ${
        formatValue(value, "openmetrics")
      } ${formatValue(exemplar.time / 1000, "openmetrics")}`;
  }

  record(value: number, sum: number): void {
    this.recordTotals(value, sum);
    const family = this.family;
    const buckets = this.#buckets ??= this.#emptyBuckets();
    const hdr = this.#hdr ??= new SparseCounts(family.arena);
    if (value >= 0) {
      const index = hdrIndex(toUnits(value, family.perUnit));
      hdr.add(index);
      buckets[family.lookup.bucket(value, index)]!++;
    } else {
      // Negative values count as zero in HDR; their bucket needs the bounds.
      hdr.add(0);
      buckets[family.lookup.search(value)]!++;
    }
  }

  #emptyBuckets(): number[] {
    return Array.from(this.family.bucketTails, () => 0);
  }

  render(writer: ByteWriter, format: ExpositionFormat): void {
    const { definition, bucketTails } = this.family;
    const { pairs } = this.definition;
    // `name_bucket{pairs,` is encoded once, then copied for each bucket.
    const head = writer.length;
    writer.text(definition.name);
    writer.text("_bucket{");
    if (pairs !== "") {
      writer.text(pairs);
      writer.text(",");
    }
    const headLength = writer.length - head;
    const buckets = this.#buckets;
    let cumulative = 0;
    for (let i = 0; i < bucketTails.length; i++) {
      if (i > 0) writer.repeat(head, headLength);
      if (buckets !== undefined) cumulative += buckets[i]!;
      writer.text(bucketTails[i]!);
      writer.text(formatValue(cumulative, format));
      const exemplar = this.#exemplars?.[i];
      if (exemplar !== undefined && format === "openmetrics") {
        writer.text(exemplar);
      }
      writer.text("\n");
    }
    this.renderTotals(writer, format);
  }

  quantileUnits(qs: readonly number[], out: Float64Array): void {
    quantilesOf(this.#hdr === undefined ? [] : [this.#hdr], qs, out);
  }

  forEachCounts(fn: (counts: SparseCounts) => void): void {
    if (this.#hdr !== undefined) fn(this.#hdr);
  }

  protected encodeBody(writer: ByteWriter): void {
    const buckets = this.#buckets;
    writer.varint(buckets?.length ?? 0);
    if (buckets !== undefined) {
      for (const count of buckets) writer.varint(count);
    }
    if (this.#hdr === undefined) writer.varint(0);
    else this.#hdr.encode(writer);
  }

  protected decodeBody(reader: ByteReader): void {
    const length = reader.varint();
    if (length === 0) this.#buckets = undefined;
    else {
      if (length !== this.family.bucketTails.length) {
        throw new RangeError(
          `Cannot restore series ${this.id}: its snapshot has ${length} buckets, its family ${this.family.bucketTails.length}`,
        );
      }
      const buckets = this.#buckets = this.#emptyBuckets();
      for (let i = 0; i < length; i++) buckets[i] = reader.varint();
    }
    const hdr = this.#hdr ?? new SparseCounts(this.family.arena);
    hdr.decode(reader);
    if (hdr.size > 0) this.#hdr = hdr;
    else {
      hdr.dispose();
      this.#hdr = undefined;
    }
  }
}

/**
 * A summary: exact count and sum since creation, quantiles over a sliding
 * window of `ageBuckets` slices of `maxAge / ageBuckets` each. Observations
 * go into the newest slice; quantiles merge all slices, so they cover between
 * `maxAge * (ageBuckets - 1) / ageBuckets` and `maxAge` of history. Each
 * slice holds only the HDR indexes its own observations touched, and none
 * until it has one.
 */
class SummaryState extends SeriesState {
  readonly #slices: (SparseCounts | undefined)[];
  readonly #starts: number[];
  #head = 0;
  #rotateAt: number;

  constructor(definition: SeriesDefinition, family: FamilyState, now: number) {
    super(definition, family);
    const { ageBuckets } = family.definition;
    this.#slices = new Array<SparseCounts | undefined>(ageBuckets).fill(
      undefined,
    );
    this.#starts = new Array<number>(ageBuckets).fill(now);
    this.#rotateAt = now + this.#sliceMs();
  }

  #sliceMs(): number {
    const { maxAgeMs, ageBuckets } = this.family.definition;
    return maxAgeMs / ageBuckets;
  }

  record(value: number, sum: number, now: number): void {
    if (now >= this.#rotateAt) this.#rotate(now);
    this.recordTotals(value, sum);
    const slice = this.#slices[this.#head] ??= new SparseCounts(
      this.family.arena,
    );
    slice.add(hdrIndex(toUnits(value, this.family.perUnit)));
  }

  /** Moves the head past every slice that has aged out, clearing each. */
  #rotate(now: number): void {
    const slices = this.#slices.length;
    const sliceMs = this.#sliceMs();
    // A long silence clears every slice; no need to step through each.
    const steps = Math.min(
      slices,
      Math.floor((now - this.#starts[this.#head]!) / sliceMs),
    );
    for (let i = 0; i < steps; i++) {
      this.#head = (this.#head + 1) % slices;
      this.#slices[this.#head]?.clear();
    }
    this.#starts[this.#head] = now - ((now - this.#rotateAt) % sliceMs);
    this.#rotateAt = this.#starts[this.#head]! + sliceMs;
  }

  forEachCounts(fn: (counts: SparseCounts) => void): void {
    for (const slice of this.#slices) if (slice !== undefined) fn(slice);
  }

  quantileUnits(qs: readonly number[], out: Float64Array, now: number): void {
    if (now >= this.#rotateAt) this.#rotate(now);
    const sources: SparseCounts[] = [];
    for (const slice of this.#slices) {
      if (slice !== undefined && slice.size > 0) sources.push(slice);
    }
    quantilesOf(sources, qs, out);
  }

  render(writer: ByteWriter, format: ExpositionFormat, now: number): void {
    const family = this.family;
    const { quantiles, name } = family.definition;
    const units = family.scratch;
    this.quantileUnits(family.sortedQuantiles, units, now);
    const { pairs } = this.definition;
    const head = writer.length;
    writer.text(name);
    writer.text("{");
    if (pairs !== "") {
      writer.text(pairs);
      writer.text(",");
    }
    const headLength = writer.length - head;
    // OpenMetrics forbids negative quantile values; NaN, its value for a
    // quantile it cannot give, keeps the series in place. Only a window of
    // negative observations gives one: HDR counts them as zero.
    const floor = format === "openmetrics" ? 0 : -Infinity;
    for (let i = 0; i < quantiles.length; i++) {
      if (i > 0) writer.repeat(head, headLength);
      const value = this.fromUnits(units[family.quantileOrder[i]!]!);
      writer.text(family.quantileTails[i]!);
      writer.text(formatValue(value >= floor ? value : NaN, format));
      writer.text("\n");
    }
    this.renderTotals(writer, format);
  }

  protected encodeBody(writer: ByteWriter): void {
    writer.varint(this.#head);
    writer.varint(this.#slices.length);
    for (let i = 0; i < this.#slices.length; i++) {
      writer.f64(this.#starts[i]!);
      const slice = this.#slices[i];
      if (slice === undefined) writer.varint(0);
      else slice.encode(writer);
    }
  }

  protected decodeBody(reader: ByteReader, now: number): void {
    const head = reader.varint();
    const length = reader.varint();
    if (length !== this.#slices.length || head >= length) {
      throw new RangeError(
        `Cannot restore series ${this.id}: its snapshot has ${length} window slices (head ${head}), its family ${this.#slices.length}`,
      );
    }
    for (let i = 0; i < length; i++) {
      this.#starts[i] = reader.f64();
      const slice = this.#slices[i] ?? new SparseCounts(this.family.arena);
      slice.decode(reader);
      if (slice.size > 0) this.#slices[i] = slice;
      else {
        slice.dispose();
        this.#slices[i] = undefined;
      }
    }
    this.#head = head;
    this.#rotateAt = this.#starts[head]! + this.#sliceMs();
    if (now >= this.#rotateAt) this.#rotate(now);
  }
}

/** A trace an observation was made in. */
interface Exemplar {
  readonly traceId: string;
  readonly spanId: string;
  /** Milliseconds since the Unix epoch. */
  readonly time: number;
}

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, "0");

/** Reads the trace of an exemplar record from its fourth value on. */
function exemplarFrom(data: Float64Array, at: number): Exemplar {
  return {
    traceId: hex8(data[at]!) + hex8(data[at + 1]!) + hex8(data[at + 2]!) +
      hex8(data[at + 3]!),
    spanId: hex8(data[at + 4]!) + hex8(data[at + 5]!),
    time: data[at + 6]!,
  };
}

/** A model monitor on the aggregator, with what snapshots need of it. */
class MonitorState {
  monitor: ModelMonitor;
  dirty = false;
  /** The size of its last record: what its next one costs, about. */
  dirtyHint = 256;

  constructor(definition: MonitorDefinition) {
    this.monitor = new ModelMonitor(definition);
  }

  get id(): number {
    return this.monitor.definition.id;
  }

  encode(writer: ByteWriter): void {
    const start = writer.length;
    writer.f64(this.id);
    const lengthAt = writer.skip(4);
    const jsonAt = writer.skip(4);
    writer.text(JSON.stringify(this.monitor.toJSON()));
    writer.u32At(jsonAt, writer.length - jsonAt - 4);
    const matrix = this.monitor.matrix?.toBytes();
    if (matrix !== undefined) writer.bytes(matrix);
    writer.u32At(lengthAt, writer.length - lengthAt - 4);
    this.dirtyHint = writer.length - start;
  }

  /**
   * Reads back the record body {@linkcode encode} wrote. A record that does
   * not restore leaves the monitor as new, with one line on standard error,
   * rather than failing the worker (whose restarts would fail alike).
   */
  decode(bytes: Uint8Array, start: number, end: number): void {
    try {
      const json = new ByteReader(bytes, start).u32();
      const text = start + 4 + json;
      this.monitor.restore(
        JSON.parse(decoder.decode(bytes.subarray(start + 4, text))),
        text < end ? bytes.subarray(text, end) : undefined,
      );
    } catch (error) {
      const { definition } = this.monitor;
      this.monitor = new ModelMonitor(definition);
      console.error(
        `Cannot restore model monitor "${definition.name}": ${
          error instanceof Error ? error.message : String(error)
        }: it starts afresh`,
      );
    }
  }
}

const decoder = new TextDecoder();

/** The index of a model monitor in the aggregator's table of them. */
function monitorIndex(id: number): number {
  return -id - 1;
}

/**
 * The series of one shard. The low bits of series ids are dense per shard and
 * reused, so the apply loop finds a series by array index in a table no
 * longer than the most series the shard held at once.
 */
export class Aggregator {
  readonly #progress: () => void;
  readonly #arena = new ByteArena();
  readonly #families = new Map<number, FamilyState>();
  readonly #modelFamilies = new Map<number, ModelFamilyDefinition>();
  readonly #series: (SeriesState | undefined)[] = [];
  /**
   * Model monitors by index (see `monitorIndex()`): a model stays, a watch
   * goes with its series.
   */
  readonly #monitors: (MonitorState | undefined)[] = [];
  #dirty: SeriesState[] = [];
  #dirtyMonitors: MonitorState[] = [];
  /** Warnings and drifts since the last {@linkcode takeEvents}. */
  #events: DriftEvent[] = [];
  /** The sum of the dirty series' size hints when they turned dirty. */
  #dirtyBytes = 0;
  /** Refused observations by family id, cumulative. */
  readonly #refused = new Map<number, number>();

  constructor(options: AggregatorOptions = {}) {
    this.#progress = options.progress ?? (() => {});
  }

  /** Declares a family; its series follow. */
  defineFamily(definition: AnyFamilyDefinition): void {
    if (definition.kind === "model") {
      this.#modelFamilies.set(definition.id, definition);
      return;
    }
    const perUnit = 1 / definition.resolution;
    const whole = Math.round(perUnit);
    const unit = Math.abs(perUnit - whole) <= perUnit * 1e-12 ? whole : perUnit;
    const { buckets, quantiles } = definition;
    const quantileOrder = new Array<number>(quantiles.length);
    const sortedQuantiles = quantiles.slice().sort((a, b) => a - b);
    quantiles.forEach((q, i) => quantileOrder[i] = sortedQuantiles.indexOf(q));
    this.#families.set(definition.id, {
      definition,
      lookup: new BucketLookup(buckets, unit),
      perUnit: unit,
      negativeBounds: buckets.some((bound) => bound < 0),
      bucketTails: [...buckets.map(formatBound), "+Inf"].map((le) =>
        `le="${le}"} `
      ),
      quantileTails: quantiles.map((q) => `quantile="${formatBound(q)}"} `),
      sortedQuantiles,
      quantileOrder,
      scratch: new Float64Array(
        Math.max(quantiles.length, STATS_QUANTILES.length),
      ),
      arena: this.#arena,
      series: new Set(),
    });
  }

  /** Declares a series of a declared family. */
  defineSeries(definition: SeriesDefinition, now: number): void {
    const family = this.#families.get(definition.family);
    if (family === undefined) {
      throw new RangeError(
        `Cannot define series ${definition.id}: unknown family ${definition.family}`,
      );
    }
    const index = definition.id | 0;
    const previous = this.#series[index];
    if (previous !== undefined) this.removeSeries(previous.id);
    const state = family.definition.kind === "histogram"
      ? new HistogramState(definition, family)
      : new SummaryState(definition, family, now);
    // Filled in order, so the array stays dense (no holes).
    while (this.#series.length < index) this.#series.push(undefined);
    this.#series[index] = state;
    family.series.add(state);
  }

  /**
   * Declares a model monitor. A watch is attached to its series, which
   * must be defined.
   */
  defineModel(definition: MonitorDefinition): void {
    const state = new MonitorState(definition);
    this.#monitors[monitorIndex(definition.id)] = state;
    if (definition.watch !== undefined) {
      const series = this.#find(definition.watch);
      if (series !== undefined) (series.watchers ??= []).push(state);
    }
  }

  /** Adds a class a model learned. */
  addModelClass(id: number, name: string): void {
    this.#monitors[monitorIndex(id)]?.monitor.addClass(name);
  }

  /** A model's figures, or undefined when it is unknown. */
  modelStatus(id: number): ModelStatus | undefined {
    return this.#monitors[monitorIndex(id)]?.monitor.status();
  }

  /** The warnings and drifts of the records applied since the last call, in order. */
  takeEvents(): DriftEvent[] | undefined {
    if (this.#events.length === 0) return undefined;
    const events = this.#events;
    this.#events = [];
    return events;
  }

  /** Forgets a series; later observations of it are ignored. */
  removeSeries(id: number): void {
    const state = this.#find(id);
    if (state === undefined) return;
    this.#drop(state);
    state.family.series.delete(state);
    if (state.dirty) this.#dirty = this.#dirty.filter((s) => s !== state);
  }

  /**
   * Forgets a family, every series of it and its refusal counts (the
   * registry counted those already); later observations of its series are
   * ignored. An unknown family is no error: removal is idempotent.
   */
  removeFamily(id: number): void {
    this.#modelFamilies.delete(id);
    const family = this.#families.get(id);
    if (family === undefined) return;
    let dirty = false;
    for (const state of family.series) {
      this.#drop(state);
      dirty ||= state.dirty;
    }
    family.series.clear();
    if (dirty) this.#dirty = this.#dirty.filter((s) => s.family !== family);
    this.#families.delete(id);
    this.#refused.delete(id);
    this.#tidy();
  }

  /** Frees a series' table entry and HDR counts; its watches go with it. */
  #drop(state: SeriesState): void {
    this.#series[state.id | 0] = undefined;
    for (const watcher of state.watchers ?? []) {
      this.#monitors[monitorIndex(watcher.id)] = undefined;
      if (watcher.dirty) {
        this.#dirtyBytes -= watcher.dirtyHint;
        this.#dirtyMonitors = this.#dirtyMonitors.filter((w) => w !== watcher);
      }
    }
    // Its record will not be written: the next snapshot costs that less.
    if (state.dirty) this.#dirtyBytes -= state.dirtyHint;
    state.forEachCounts((counts) => counts.dispose());
  }

  /** Compacts the arena once it holds too many freed bytes. */
  #tidy(): void {
    if (!this.#arena.wasteful) return;
    const owners: SparseCounts[] = [];
    for (const state of this.#series) {
      state?.forEachCounts((counts) => {
        if (counts.hasBlock) owners.push(counts);
      });
    }
    this.#arena.compact(owners);
  }

  /** What this aggregator holds. */
  held(): Holdings {
    let series = 0;
    for (const family of this.#families.values()) series += family.series.size;
    return {
      families: this.#families.size,
      series,
      indexes: this.#series.length,
    };
  }

  /**
   * Applies `[seriesId, value]` pairs from `data[start]` to `data[end]`.
   * Pairs of removed series are skipped: their observations went with them.
   * A value that would make its series' sum infinite is refused and
   * counted (unless `countRefusals` is false, for a batch replayed whose
   * refusals were counted): the series stays as it was, consistent and
   * finite.
   */
  apply(
    data: Float64Array,
    start: number,
    end: number,
    now: number,
    countRefusals = true,
  ): void {
    const table = this.#series;
    for (let i = start; i < end; i += 2) {
      const id = data[i]!;
      if (id < 0) {
        if (id === EXEMPLAR) {
          this.#applyExemplar(data, i, now, countRefusals);
          i += EXEMPLAR_RECORD - 2;
          continue;
        }
        // A model record: four values.
        this.#applyModel(id, data[i + 1]!, data[i + 2]!, data[i + 3]!, now);
        i += 2;
        continue;
      }
      const state = table[id | 0];
      // A reused index holds a newer generation: the pair is a removed
      // series'.
      if (state === undefined || state.id !== id) continue;
      this.#observe(state, data[i + 1]!, now, countRefusals);
    }
    this.#tidy();
  }

  #observe(
    state: SeriesState,
    value: number,
    now: number,
    countRefusals: boolean,
  ): void {
    const sum = state.sum + value;
    if (!Number.isFinite(sum)) {
      if (countRefusals) this.#refuse(state.family.definition.id);
      return;
    }
    if (!state.dirty) {
      state.dirty = true;
      this.#dirty.push(state);
      state.dirtyHint = state.encodedSizeHint();
      this.#dirtyBytes += state.dirtyHint;
    }
    state.record(value, sum, now);
    const watchers = state.watchers;
    if (watchers !== undefined) {
      for (const watcher of watchers) {
        this.#touch(watcher);
        watcher.monitor.observe(value, now, this.#events);
      }
    }
  }

  /**
   * Applies an exemplar record: the observation, then, if it was applied,
   * its trace as the latest exemplar of its bucket.
   */
  #applyExemplar(
    data: Float64Array,
    at: number,
    now: number,
    countRefusals: boolean,
  ): void {
    const state = this.#find(data[at + 1]!);
    if (state === undefined) return;
    const value = data[at + 2]!;
    const count = state.count;
    this.#observe(state, value, now, countRefusals);
    // Summaries have no buckets: the observation counts, its trace does not.
    if (state.count === count || !(state instanceof HistogramState)) return;
    state.exemplify(value, exemplarFrom(data, at + 3));
  }

  /** Applies a model record; a `prediction` of NaN resets the model. */
  #applyModel(
    id: number,
    prediction: number,
    actual: number,
    proba: number,
    now: number,
  ): void {
    const state = this.#monitors[monitorIndex(id)];
    if (state === undefined) return;
    this.#touch(state);
    const monitor = state.monitor;
    if (prediction !== prediction) {
      monitor.reset();
      return;
    }
    monitor.record(prediction, actual, proba, now, this.#events);
    const confidence = monitor.definition.confidenceSeries;
    if (proba === proba && confidence !== undefined) {
      const series = this.#find(confidence);
      if (series !== undefined) this.#observe(series, proba, now, false);
    }
  }

  /** Marks a monitor changed, for the next snapshot. */
  #touch(state: MonitorState): void {
    if (state.dirty) return;
    state.dirty = true;
    this.#dirtyMonitors.push(state);
    this.#dirtyBytes += state.dirtyHint;
  }

  /** Observations refused so far, by family, restored ones included. */
  refused(): RefusedCounts {
    return [...this.#refused];
  }

  /** Sets the refused counts a previous aggregator of the shard reached. */
  restoreRefused(counts: RefusedCounts): void {
    for (const [family, count] of counts) this.#refused.set(family, count);
  }

  #refuse(family: number): void {
    this.#refused.set(family, (this.#refused.get(family) ?? 0) + 1);
  }

  /** The series with this id, unless it was removed. */
  #find(id: number): SeriesState | undefined {
    const state = this.#series[id | 0];
    return state?.id === id ? state : undefined;
  }

  /**
   * Renders the samples of each family, without HELP and TYPE lines, in
   * UTF-8, one family after the other: family `i` ends at byte `ends[i]`.
   */
  render(
    families: readonly number[],
    format: ExpositionFormat,
    now: number,
  ): RenderedFamilies {
    // Sized ahead from each series' labels, so the buffer is not grown
    // (each growth copies it and leaves the old one to collect).
    let estimate = 64;
    for (const id of families) {
      const family = this.#families.get(id);
      if (family === undefined) continue;
      const lines = family.bucketTails.length + family.quantileTails.length + 3;
      const perLine = family.definition.name.length + 48;
      for (const state of family.series) {
        estimate += lines * (perLine + state.definition.pairs.length);
      }
    }
    const writer = new ByteWriter(estimate);
    const ends: number[] = [];
    let done = 0;
    for (const id of families) {
      const family = this.#families.get(id);
      if (family !== undefined) {
        for (const state of family.series) {
          state.render(writer, format, now);
          if (++done % PROGRESS_EVERY === 0) this.#progress();
        }
      }
      const models = this.#modelFamilies.get(id);
      if (models !== undefined) {
        for (const state of this.#monitors) {
          if (state !== undefined) {
            renderModelFamily(models, state.monitor, writer, format);
          }
        }
      }
      ends.push(writer.length);
    }
    return { bytes: writer.finish(), ends };
  }

  /** The figures of one series, or undefined when it is unknown. */
  stats(id: number, now: number): SeriesStats | undefined {
    return this.#find(id)?.stats(now);
  }

  /** Whether any series or model changed since the last {@linkcode takeSnapshot}. */
  get dirty(): boolean {
    return this.#dirty.length > 0 || this.#dirtyMonitors.length > 0;
  }

  /** About the bytes the next {@linkcode takeSnapshot} writes: what a snapshot costs. */
  get dirtyBytes(): number {
    return this.#dirtyBytes;
  }

  /**
   * The records of the series changed since the last call, one after the
   * other in a buffer of their own (see `forEachRecord()`); empty when
   * none changed.
   */
  takeSnapshot(): Uint8Array<ArrayBuffer> {
    const dirty = this.#dirty;
    this.#dirty = [];
    this.#dirtyBytes = 0;
    let estimate = 64;
    for (const state of dirty) estimate += state.encodedSizeHint();
    for (const state of this.#dirtyMonitors) estimate += state.dirtyHint;
    const writer = new ByteWriter(estimate);
    for (let i = 0; i < dirty.length; i++) {
      const state = dirty[i]!;
      state.dirty = false;
      state.encode(writer);
      if ((i + 1) % PROGRESS_EVERY === 0) this.#progress();
    }
    for (const state of this.#dirtyMonitors) {
      state.dirty = false;
      state.encode(writer);
    }
    this.#dirtyMonitors = [];
    const bytes = writer.finish();
    // The main thread keeps the buffer as long as one record in it is the
    // newest of its series: past a quarter too large, it gets a copy.
    return bytes.length * 4 < bytes.buffer.byteLength * 3
      ? bytes.slice()
      : bytes;
  }

  /**
   * Restores series from snapshot records (of one or more snapshots, one
   * record a series); records of series not defined are skipped.
   */
  restore(bytes: Uint8Array, now: number): void {
    const reader = new ByteReader(bytes);
    let done = 0;
    forEachRecord(bytes, (id, start, end) => {
      if (id < 0) {
        this.#monitors[monitorIndex(id)]?.decode(
          bytes,
          start + RECORD_HEADER,
          end,
        );
        return;
      }
      const state = this.#find(id);
      if (state !== undefined) {
        const body = start + RECORD_HEADER;
        reader.position = body;
        state.decode(reader, now);
        if (reader.position !== end) {
          throw new RangeError(
            `Cannot restore series ${id}: its record holds ${
              end - body
            } bytes, ${reader.position - body} were read`,
          );
        }
      }
      if (++done % PROGRESS_EVERY === 0) this.#progress();
    });
    this.#tidy();
  }

  /** Forgets everything. */
  close(): void {
    this.#series.length = 0;
    this.#families.clear();
    this.#modelFamilies.clear();
    this.#monitors.length = 0;
    this.#dirtyMonitors = [];
    this.#events = [];
    this.#dirty = [];
    this.#dirtyBytes = 0;
    this.#refused.clear();
  }
}
