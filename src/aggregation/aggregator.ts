// The aggregation state of one shard: pure, synchronous, testable without a
// Worker. Internal.
import * as hdr from "hdr-histogram-js";
import type {
  FamilyDefinition,
  Holdings,
  RefusedCounts,
  SeriesDefinition,
  SeriesSnapshot,
  SeriesStats,
} from "./protocol.ts";
import type { ExpositionFormat } from "../base/exposition.ts";
import { braces, formatBound, formatValue } from "../base/_text.ts";
import { BucketLookup, hdrIndex, StagedCounts } from "./staging.ts";

/** The largest value an HDR histogram records; larger values are clamped. */
const HDR_MAX = Number.MAX_SAFE_INTEGER;

/**
 * The settings of every HDR histogram an aggregator builds or decodes: 3
 * significant digits, 32-bit counts, growing as needed. Exported so
 * benchmarks time the same histograms the workers record into.
 */
export const HDR_OPTIONS: Readonly<
  Required<Omit<hdr.BuildRequest, "useWebAssembly">>
> = Object.freeze({
  bitBucketSize: 32,
  autoResize: true,
  lowestDiscernibleValue: 1,
  highestTrackableValue: 2,
  numberOfSignificantValueDigits: 3,
});

/** Options of {@linkcode Aggregator}. */
export interface AggregatorOptions {
  /** Record with hdr-histogram-js' WebAssembly build (after `initWebAssemblySync()`). */
  readonly useWebAssembly: boolean;
}

function newHdr(useWebAssembly: boolean): hdr.Histogram {
  return hdr.build({ ...HDR_OPTIONS, useWebAssembly });
}

function decodeHdr(encoded: string, useWebAssembly: boolean): hdr.Histogram {
  const histogram = hdr.decodeFromCompressedBase64(
    encoded,
    HDR_OPTIONS.bitBucketSize,
    useWebAssembly,
  );
  histogram.autoResize = HDR_OPTIONS.autoResize;
  return histogram;
}

/** Converts a value to HDR units: rounded, clamped to [0, HDR_MAX]. */
function toUnits(value: number, inverseResolution: number): number {
  const units = Math.round(value * inverseResolution);
  return units > 0 ? (units < HDR_MAX ? units : HDR_MAX) : 0;
}

/** What every series kind shares. */
abstract class SeriesState {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  dirty = false;
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
  abstract render(format: ExpositionFormat, now: number): string;
  abstract quantileSource(now: number): hdr.Histogram;
  abstract snapshot(): SeriesSnapshot;
  abstract restore(snapshot: SeriesSnapshot, now: number): void;
  abstract destroy(): void;

  stats(now: number): SeriesStats {
    const source = this.quantileSource(now);
    const quantile = (q: number): number => this.quantile(source, q);
    return {
      count: this.count,
      sum: this.sum,
      min: this.count > 0 ? this.min : NaN,
      max: this.count > 0 ? this.max : NaN,
      mean: this.count > 0 ? this.sum / this.count : NaN,
      p50: quantile(0.5),
      p90: quantile(0.9),
      p95: quantile(0.95),
      p99: quantile(0.99),
      p999: quantile(0.999),
    };
  }

  /** A quantile from HDR, clamped to the exact min and max. */
  protected quantile(source: hdr.Histogram, q: number): number {
    if (source.totalCount === 0) return NaN;
    const value = source.getValueAtPercentile(q * 100) / this.family.perUnit;
    return Math.min(Math.max(value, this.min), this.max);
  }

  protected recordTotals(value: number, sum: number): void {
    this.count++;
    this.sum = sum;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  protected restoreTotals(snapshot: SeriesSnapshot): void {
    this.count = snapshot.count;
    this.sum = snapshot.sum;
    this.min = snapshot.min;
    this.max = snapshot.max;
  }

  /**
   * `name_count`, `name_sum` and, in OpenMetrics, `name_created` lines. In
   * OpenMetrics a sum is a counter, so it is left out once it may fall: in a
   * histogram with a negative bound (which the spec names) and in a series
   * that observed a negative value. `_count` goes with it, as the spec
   * allows a histogram's `_count` only beside its `_sum` (and asks the same
   * of summaries); a histogram's `+Inf` bucket still holds the count.
   */
  protected renderTotals(format: ExpositionFormat): string {
    const { name } = this.family.definition;
    const labels = braces(this.definition.pairs);
    const om = format === "openmetrics";
    let out = "";
    if (!(om && (this.min < 0 || this.family.negativeBounds))) {
      out += `${name}_count${labels} ${formatValue(this.count, format)}\n`;
      out += `${name}_sum${labels} ${formatValue(this.sum, format)}\n`;
    }
    if (om) {
      out += `${name}_created${labels} ${
        formatValue(this.definition.created, format)
      }\n`;
    }
    return out;
  }

  protected baseSnapshot(): Omit<SeriesSnapshot, "buckets" | "hdr"> {
    return {
      id: this.definition.id,
      count: this.count,
      sum: this.sum,
      min: this.min,
      max: this.max,
      sliceStarts: [],
      head: 0,
    };
  }
}

class HistogramState extends SeriesState {
  readonly #counts: Float64Array;
  readonly #perUnit: number;
  readonly #lookup: BucketLookup;
  readonly #staged = new StagedCounts();
  readonly #prefixes: readonly string[];
  #hdr: hdr.Histogram;

  constructor(definition: SeriesDefinition, family: FamilyState) {
    super(definition, family);
    const { buckets, name } = family.definition;
    this.#counts = new Float64Array(buckets.length + 1);
    this.#perUnit = family.perUnit;
    this.#lookup = family.lookup;
    this.#hdr = newHdr(family.useWebAssembly);
    const comma = definition.pairs === "" ? "" : `${definition.pairs},`;
    this.#prefixes = [...buckets.map(formatBound), "+Inf"].map((le) =>
      `${name}_bucket{${comma}le="${le}"} `
    );
  }

  record(value: number, sum: number): void {
    this.recordTotals(value, sum);
    if (value >= 0) {
      const index = hdrIndex(toUnits(value, this.#perUnit));
      this.#staged.add(index);
      this.#counts[this.#lookup.bucket(value, index)]!++;
    } else {
      // Negative values count as zero in HDR; their bucket needs the bounds.
      this.#staged.add(0);
      this.#counts[this.#lookup.search(value)]!++;
    }
  }

  render(format: ExpositionFormat): string {
    let out = "";
    let cumulative = 0;
    const counts = this.#counts;
    for (let i = 0; i < counts.length; i++) {
      cumulative += counts[i]!;
      out += `${this.#prefixes[i]}${formatValue(cumulative, format)}\n`;
    }
    return out + this.renderTotals(format);
  }

  quantileSource(): hdr.Histogram {
    this.#staged.flushInto(this.#hdr);
    return this.#hdr;
  }

  snapshot(): SeriesSnapshot {
    return {
      ...this.baseSnapshot(),
      buckets: Array.from(this.#counts),
      hdr: [hdr.encodeIntoCompressedBase64(this.quantileSource())],
    };
  }

  restore(snapshot: SeriesSnapshot): void {
    this.restoreTotals(snapshot);
    this.#counts.set(snapshot.buckets);
    this.#hdr.destroy();
    this.#hdr = decodeHdr(snapshot.hdr[0]!, this.family.useWebAssembly);
  }

  destroy(): void {
    this.#hdr.destroy();
  }
}

/**
 * A summary: exact count and sum since creation, quantiles over a sliding
 * window of `ageBuckets` slices of `maxAge / ageBuckets` each. Observations
 * go into the newest slice; quantiles merge all slices, so they cover between
 * `maxAge * (ageBuckets - 1) / ageBuckets` and `maxAge` of history.
 */
class SummaryState extends SeriesState {
  readonly #inverseResolution: number;
  /** Observations of the head slice not yet handed to its HDR histogram. */
  readonly #staged = new StagedCounts();
  readonly #sliceMs: number;
  readonly #slices: hdr.Histogram[];
  readonly #starts: number[];
  readonly #merged: hdr.Histogram;
  readonly #prefixes: readonly string[];
  #head = 0;
  #rotateAt: number;

  constructor(definition: SeriesDefinition, family: FamilyState, now: number) {
    super(definition, family);
    const { ageBuckets, maxAgeMs, quantiles, name } = family.definition;
    this.#inverseResolution = family.perUnit;
    this.#sliceMs = maxAgeMs / ageBuckets;
    this.#slices = Array.from(
      { length: ageBuckets },
      () => newHdr(family.useWebAssembly),
    );
    this.#starts = Array.from({ length: ageBuckets }, () => now);
    this.#merged = newHdr(family.useWebAssembly);
    this.#rotateAt = now + this.#sliceMs;
    const comma = definition.pairs === "" ? "" : `${definition.pairs},`;
    this.#prefixes = quantiles.map((q) =>
      `${name}{${comma}quantile="${formatBound(q)}"} `
    );
  }

  record(value: number, sum: number, now: number): void {
    if (now >= this.#rotateAt) this.#rotate(now);
    this.recordTotals(value, sum);
    this.#staged.add(hdrIndex(toUnits(value, this.#inverseResolution)));
  }

  /** Hands the staged observations to the head slice. */
  #settle(): void {
    this.#staged.flushInto(this.#slices[this.#head]!);
  }

  /** Moves the head past every slice that has aged out, clearing each. */
  #rotate(now: number): void {
    this.#settle();
    const slices = this.#slices.length;
    // A long silence clears every slice; no need to step through each.
    const steps = Math.min(
      slices,
      Math.floor((now - this.#starts[this.#head]!) / this.#sliceMs),
    );
    for (let i = 0; i < steps; i++) {
      this.#head = (this.#head + 1) % slices;
      this.#slices[this.#head]!.reset();
    }
    this.#starts[this.#head] = now - ((now - this.#rotateAt) % this.#sliceMs);
    this.#rotateAt = this.#starts[this.#head]! + this.#sliceMs;
  }

  quantileSource(now: number): hdr.Histogram {
    if (now >= this.#rotateAt) this.#rotate(now);
    this.#settle();
    this.#merged.reset();
    for (const slice of this.#slices) this.#merged.add(slice);
    return this.#merged;
  }

  render(format: ExpositionFormat, now: number): string {
    const source = this.quantileSource(now);
    const { quantiles } = this.family.definition;
    // OpenMetrics forbids negative quantile values; NaN, its value for a
    // quantile it cannot give, keeps the series in place. Only a window of
    // negative observations gives one: HDR counts them as zero.
    const floor = format === "openmetrics" ? 0 : -Infinity;
    let out = "";
    for (let i = 0; i < quantiles.length; i++) {
      const value = this.quantile(source, quantiles[i]!);
      out += `${this.#prefixes[i]}${
        formatValue(value >= floor ? value : NaN, format)
      }\n`;
    }
    return out + this.renderTotals(format);
  }

  snapshot(): SeriesSnapshot {
    this.#settle();
    return {
      ...this.baseSnapshot(),
      buckets: [],
      hdr: this.#slices.map((slice) => hdr.encodeIntoCompressedBase64(slice)),
      sliceStarts: [...this.#starts],
      head: this.#head,
    };
  }

  restore(snapshot: SeriesSnapshot, now: number): void {
    this.restoreTotals(snapshot);
    snapshot.hdr.forEach((encoded, i) => {
      this.#slices[i]!.destroy();
      this.#slices[i] = decodeHdr(encoded, this.family.useWebAssembly);
      this.#starts[i] = snapshot.sliceStarts[i]!;
    });
    this.#head = snapshot.head;
    this.#rotateAt = this.#starts[this.#head]! + this.#sliceMs;
    if (now >= this.#rotateAt) this.#rotate(now);
  }

  destroy(): void {
    for (const slice of this.#slices) slice.destroy();
    this.#merged.destroy();
  }
}

interface FamilyState {
  readonly definition: FamilyDefinition;
  /** Classic buckets by HDR index, shared by the family's series. */
  readonly lookup: BucketLookup;
  /**
   * HDR units per unit of the metric: `1 / resolution`, made a whole number
   * when it is one but for rounding, so dividing by it gives back the
   * shortest decimal (0.8903, not 0.8903000000000001).
   */
  readonly perUnit: number;
  readonly useWebAssembly: boolean;
  /** Whether a histogram bound is below zero, so no sum is a counter. */
  readonly negativeBounds: boolean;
  /** Series in creation order. */
  readonly series: Set<SeriesState>;
}

/**
 * The series of one shard. The low bits of series ids are dense per shard and
 * reused, so the apply loop finds a series by array index in a table no
 * longer than the most series the shard held at once.
 */
export class Aggregator {
  readonly #useWebAssembly: boolean;
  readonly #families = new Map<number, FamilyState>();
  readonly #series: (SeriesState | undefined)[] = [];
  #dirty: SeriesState[] = [];
  /** Refused observations by family id, cumulative. */
  readonly #refused = new Map<number, number>();

  constructor(options: AggregatorOptions) {
    this.#useWebAssembly = options.useWebAssembly;
  }

  /** Declares a family; its series follow. */
  defineFamily(definition: FamilyDefinition): void {
    const perUnit = 1 / definition.resolution;
    const whole = Math.round(perUnit);
    const unit = Math.abs(perUnit - whole) <= perUnit * 1e-12 ? whole : perUnit;
    this.#families.set(definition.id, {
      definition,
      lookup: new BucketLookup(definition.buckets, unit),
      perUnit: unit,
      useWebAssembly: this.#useWebAssembly,
      negativeBounds: definition.buckets.some((bound) => bound < 0),
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

  /** Frees a series' HDR memory and its table entry. */
  #drop(state: SeriesState): void {
    state.destroy();
    this.#series[state.id | 0] = undefined;
  }

  /**
   * Applies `[seriesId, value]` pairs from `data[start]` to `data[end]`.
   * Pairs of removed series are skipped: their observations went with them.
   * A value that would make its series' sum infinite is refused and
   * counted: the series stays as it was, consistent and finite.
   */
  apply(data: Float64Array, start: number, end: number, now: number): void {
    const table = this.#series;
    for (let i = start; i < end; i += 2) {
      const id = data[i]!;
      const state = table[id | 0];
      // A reused index holds a newer generation: the pair is a removed
      // series'.
      if (state === undefined || state.id !== id) continue;
      const value = data[i + 1]!;
      const sum = state.sum + value;
      if (!Number.isFinite(sum)) {
        this.#refuse(state.family.definition.id);
        continue;
      }
      if (!state.dirty) {
        state.dirty = true;
        this.#dirty.push(state);
      }
      state.record(value, sum, now);
    }
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

  /** Renders the samples of each family, without HELP and TYPE lines. */
  render(
    families: readonly number[],
    format: ExpositionFormat,
    now: number,
  ): string[] {
    return families.map((id) => {
      let out = "";
      const family = this.#families.get(id);
      if (family === undefined) return out;
      for (const state of family.series) out += state.render(format, now);
      return out;
    });
  }

  /** The figures of one series, or undefined when it is unknown. */
  stats(id: number, now: number): SeriesStats | undefined {
    return this.#find(id)?.stats(now);
  }

  /** Whether any series changed since the last {@linkcode takeSnapshot}. */
  get dirty(): boolean {
    return this.#dirty.length > 0;
  }

  /** The series changed since the last call. */
  takeSnapshot(): SeriesSnapshot[] {
    const snapshots = this.#dirty.map((state) => {
      state.dirty = false;
      return state.snapshot();
    });
    this.#dirty = [];
    return snapshots;
  }

  /** Restores series from snapshots; the series must be defined. */
  restore(snapshots: readonly SeriesSnapshot[], now: number): void {
    for (const snapshot of snapshots) {
      this.#find(snapshot.id)?.restore(snapshot, now);
    }
  }

  /** Frees every HDR histogram (WebAssembly memory is not collected). */
  close(): void {
    for (const state of this.#series) state?.destroy();
    this.#series.length = 0;
    this.#families.clear();
    this.#dirty = [];
    this.#refused.clear();
  }
}
