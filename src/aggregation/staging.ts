// The fast path of a histogram series: HDR bucket indexes computed in plain
// JavaScript and counted in a typed array, handed to hdr-histogram-js in one
// pass when its percentiles or encoding are needed. Recording through
// hdr-histogram-js costs 30-70 ns a value here (a WebAssembly or JavaScript
// call with checks per value); this costs a few. Internal.
import type { Histogram } from "hdr-histogram-js";

/** HDR with 3 significant digits: sub-buckets of 2048, halves of 1024. */
const HALF_MAGNITUDE = 10;
const HALF_COUNT = 1 << HALF_MAGNITUDE;
const TWO_POW_32 = 4294967296;

/**
 * The index hdr-histogram-js gives `units` (a whole number from 0 to 2^53)
 * in a histogram of 3 significant digits with a lowest discernible value of
 * 1: `bucket * 1024 + units / 2^bucket`, where bucket 0 holds 0 to 2047.
 */
export function hdrIndex(units: number): number {
  if (units < 2147483648) {
    const bucket = 21 - Math.clz32(units | 2047);
    return (bucket << HALF_MAGNITUDE) + (units >>> bucket);
  }
  const high = Math.floor(units / TWO_POW_32);
  const magnitude = high > 0 ? 63 - Math.clz32(high) : 31;
  const bucket = magnitude - HALF_MAGNITUDE;
  return bucket * HALF_COUNT + Math.floor(units / 2 ** bucket);
}

/** The lowest value of the HDR bucket at `index`: the inverse of {@linkcode hdrIndex}. */
export function hdrValue(index: number): number {
  if (index < 2 * HALF_COUNT) return index;
  const bucket = Math.floor(index / HALF_COUNT) - 1;
  return ((index % HALF_COUNT) + HALF_COUNT) * 2 ** bucket;
}

/** The highest value of the HDR bucket at `index`. */
export function hdrHighest(index: number): number {
  const bucket = index < 2 * HALF_COUNT
    ? 0
    : Math.floor(index / HALF_COUNT) - 1;
  return hdrValue(index) + 2 ** bucket - 1;
}

/** Counts per HDR index since the last flush, growing as values grow. */
export class StagedCounts {
  #counts = new Float64Array(2 * HALF_COUNT);
  #low = Infinity;
  #high = -1;

  /** Counts one value at an HDR index. */
  add(index: number): void {
    if (index >= this.#counts.length) this.#grow(index);
    this.#counts[index]!++;
    if (index < this.#low) this.#low = index;
    if (index > this.#high) this.#high = index;
  }

  /** Moves the counts into `histogram` and clears them. */
  flushInto(histogram: Histogram): void {
    const counts = this.#counts;
    for (let i = this.#low; i <= this.#high; i++) {
      const count = counts[i]!;
      if (count !== 0) {
        histogram.recordValueWithCount(hdrValue(i), count);
        counts[i] = 0;
      }
    }
    this.#low = Infinity;
    this.#high = -1;
  }

  #grow(index: number): void {
    let length = this.#counts.length;
    while (length <= index) length *= 2;
    const counts = new Float64Array(length);
    counts.set(this.#counts);
    this.#counts = counts;
  }
}

/** Marks an HDR index whose values straddle a bucket bound. */
const AMBIGUOUS = 255;

/**
 * The classic bucket of every HDR index whose values all fall in one bucket,
 * so most observations find their bucket with one array read. Indexes whose
 * range (widened by the half unit that rounding to units may move a value)
 * holds a bound are marked ambiguous: those values are compared with the
 * bounds themselves.
 */
export class BucketLookup {
  readonly #bounds: Float64Array;
  readonly #boundUnits: Float64Array;
  #table = new Uint8Array(0);

  /**
   * @param bounds Upper bounds, ascending (at most 254).
   * @param perUnit HDR units per unit of the values.
   */
  constructor(bounds: readonly number[], perUnit: number) {
    this.#bounds = Float64Array.from(bounds);
    this.#boundUnits = Float64Array.from(bounds, (bound) => bound * perUnit);
  }

  /** The bucket of `value` at HDR index `index`: a bound equal to the value includes it. */
  bucket(value: number, index: number): number {
    if (index >= this.#table.length) this.#grow(index);
    const bucket = this.#table[index]!;
    return bucket === AMBIGUOUS ? this.search(value) : bucket;
  }

  /** The first bucket whose bound is at least `value` (the last is +Inf). */
  search(value: number): number {
    const bounds = this.#bounds;
    let low = 0;
    let high = bounds.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (value <= bounds[mid]!) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  #grow(index: number): void {
    const from = this.#table.length;
    let length = Math.max(from, 2 * HALF_COUNT);
    while (length <= index) length *= 2;
    const table = new Uint8Array(length);
    table.set(this.#table);
    const bounds = this.#boundUnits;
    for (let i = from; i < length; i++) {
      const low = this.#searchUnits(bounds, hdrValue(i) - 0.5);
      const high = this.#searchUnits(bounds, hdrHighest(i) + 0.5);
      table[i] = low === high ? low : AMBIGUOUS;
    }
    this.#table = table;
  }

  #searchUnits(bounds: Float64Array, units: number): number {
    let bucket = 0;
    while (bucket < bounds.length && units > bounds[bucket]!) bucket++;
    return bucket;
  }
}
