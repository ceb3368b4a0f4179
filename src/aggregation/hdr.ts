// HDR histogram counts, sparse: the index math of hdr-histogram-js (3
// significant digits, lowest discernible value 1) over the indexes a series
// touched, in sorted arrays or a dense window, whichever is smaller. A series with a few hundred distinct values holds
// a few kilobytes, where a dense hdr-histogram-js histogram holds its whole
// range (tens of kilobytes) and its "packed" one is slower to record into by
// two orders of magnitude (see the README's "Scale"). Percentiles are
// hdr-histogram-js' own, value for value; the tests check it. Internal.
import type { ByteReader, ByteWriter } from "./codec.ts";

/** HDR with 3 significant digits: sub-buckets of 2048, halves of 1024. */
const HALF_MAGNITUDE = 10;
const HALF_COUNT = 1 << HALF_MAGNITUDE;
const TWO_POW_32 = 4294967296;

/**
 * The largest value, in units, an index is computed for; larger values are
 * clamped. Its index, 45055, is the largest: every index fits 16 bits.
 */
export const HDR_MAX_UNITS = Number.MAX_SAFE_INTEGER;

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

/** Entries a new {@linkcode SparseCounts} has room for: 48 bytes, kept on V8's heap. */
const FIRST_CAPACITY = 8;
const UINT32_MAX = 0xffffffff;
/** Distinct indexes before a dense window is considered: below, sorted arrays are fast enough. */
const DENSE_FROM = 64;

/**
 * The counts of the HDR indexes one series (or one summary slice) touched,
 * in one of two layouts:
 *
 * - **sorted**: the indexes ascending in 16 bits (`keys`) and their counts,
 *   6 bytes an index, found by binary search. A series of 300 distinct
 *   values spread over three decades holds under 2 KB.
 * - **dense**: a window of counts from index `offset` on, 4 bytes an index
 *   whether touched or not, found by subtraction. Taken when at least a
 *   third of the indexes in the window are touched, as in a series of
 *   thousands of distinct values, where binary search costs several times
 *   as much: at most twice the memory, for the series that record most.
 *
 * Counts are 32-bit until one would pass 2^32 - 1, 64-bit floats from then
 * on. In either layout, position `p` below `size` holds the count of index
 * `keyAt(p)`; a dense window holds zeros too.
 */
export class SparseCounts {
  /** Sorted layout: the indexes, ascending; the first `size` are in use. */
  keys: Uint16Array = new Uint16Array(FIRST_CAPACITY);
  /** The count at each position. */
  counts: Uint32Array | Float64Array = new Uint32Array(FIRST_CAPACITY);
  /** Positions in use: indexes in the sorted layout, the window's length in the dense one. */
  size = 0;
  /** The sum of the counts. */
  total = 0;
  /** Whether the dense layout is in use. */
  dense = false;
  /** Dense layout: the index at position 0. */
  offset = 0;
  /** Indexes with a count: `size` in the sorted layout. */
  distinct = 0;

  /** The index at position `p`. */
  keyAt(p: number): number {
    return this.dense ? this.offset + p : this.keys[p]!;
  }

  /** Counts `count` values at HDR `index` (from 0 to 45055). */
  add(index: number, count = 1): void {
    if (this.dense) {
      const p = index - this.offset;
      if (p >= 0 && p < this.size) {
        const next = this.counts[p]! + count;
        if (next === count) this.distinct++;
        if (next > UINT32_MAX) this.#widen();
        this.counts[p] = next;
        this.total += count;
        return;
      }
      this.#addOutside(index, count);
      return;
    }
    const keys = this.keys;
    const size = this.size;
    // Binary search for the first key at least `index`.
    let low = 0;
    let high = size;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (keys[mid]! < index) low = mid + 1;
      else high = mid;
    }
    this.total += count;
    if (low < size && keys[low] === index) {
      const next = this.counts[low]! + count;
      if (next > UINT32_MAX) this.#widen();
      this.counts[low] = next;
      return;
    }
    this.#insert(low, index, count);
    if (this.size >= DENSE_FROM) {
      const span = this.keys[this.size - 1]! - this.keys[0]! + 1;
      // Dense while its window is at most twice the sorted arrays' size.
      if (span * 4 <= this.size * 12) this.#toDense(this.keys[0]!, span);
    }
  }

  /** Forgets every count, keeping the room. */
  clear(): void {
    this.size = 0;
    this.total = 0;
    this.distinct = 0;
    this.dense = false;
    if (this.keys.length < this.counts.length) {
      // Left dense: the sorted layout needs keys as long as the counts.
      this.keys = new Uint16Array(this.counts.length);
    }
  }

  /** Writes the counts: how many indexes have one, then each index as a delta and its count. */
  encode(writer: ByteWriter): void {
    writer.varint(this.distinct);
    let previous = 0;
    for (let p = 0; p < this.size; p++) {
      const count = this.counts[p]!;
      if (count === 0) continue;
      const key = this.keyAt(p);
      writer.varint(key - previous);
      writer.varint(count);
      previous = key;
    }
  }

  /** Replaces these counts with those {@linkcode encode} wrote. */
  decode(reader: ByteReader): void {
    const distinct = reader.varint();
    this.clear();
    let key = 0;
    for (let i = 0; i < distinct; i++) {
      key += reader.varint();
      this.add(key, reader.varint());
    }
  }

  #insert(at: number, index: number, count: number): void {
    if (this.size === this.keys.length) this.#reserve(this.size + 1);
    const { keys, counts } = this;
    keys.copyWithin(at + 1, at, this.size);
    counts.copyWithin(at + 1, at, this.size);
    keys[at] = index;
    if (count > UINT32_MAX) this.#widen();
    this.counts[at] = count;
    this.size++;
    this.distinct++;
  }

  /** Makes room for at least `entries` in the sorted layout, growing by a quarter. */
  #reserve(entries: number): void {
    if (entries <= this.keys.length) return;
    const capacity = Math.max(
      entries,
      this.keys.length + (this.keys.length >>> 2) + 4,
    );
    const keys = new Uint16Array(capacity);
    keys.set(this.keys.subarray(0, this.size));
    const counts = this.#newCounts(capacity);
    counts.set(this.counts.subarray(0, this.size));
    this.keys = keys;
    this.counts = counts;
  }

  /** Counts in 64-bit floats from now on. */
  #widen(): void {
    if (this.counts instanceof Uint32Array) {
      this.counts = Float64Array.from(this.counts);
    }
  }

  #newCounts(length: number): Uint32Array | Float64Array {
    return this.counts instanceof Uint32Array
      ? new Uint32Array(length)
      : new Float64Array(length);
  }

  /** Moves the sorted counts into a window of `span` from `offset`. */
  #toDense(offset: number, span: number): void {
    const counts = this.#newCounts(span);
    for (let i = 0; i < this.size; i++) {
      counts[this.keys[i]! - offset] = this.counts[i]!;
    }
    this.dense = true;
    this.offset = offset;
    this.size = span;
    this.counts = counts;
    this.keys = new Uint16Array(0);
  }

  /**
   * Counts an index outside the dense window: the window grows to it while
   * it stays within five times the sorted arrays' size (so one outlier does
   * not cost a window across the whole range), and the counts go back to
   * the sorted layout otherwise.
   */
  #addOutside(index: number, count: number): void {
    const low = Math.min(index, this.offset);
    const high = Math.max(index, this.offset + this.size - 1);
    const span = high - low + 1;
    if (span * 4 <= (this.distinct + 1) * 30) {
      const counts = this.#newCounts(span);
      counts.set(this.counts.subarray(0, this.size), this.offset - low);
      this.counts = counts;
      this.offset = low;
      this.size = span;
      this.add(index, count);
      return;
    }
    const keys = new Uint16Array(this.distinct + (this.distinct >>> 2) + 4);
    const counts = this.#newCounts(keys.length);
    let n = 0;
    for (let p = 0; p < this.size; p++) {
      if (this.counts[p] === 0) continue;
      keys[n] = this.offset + p;
      counts[n++] = this.counts[p]!;
    }
    this.dense = false;
    this.keys = keys;
    this.counts = counts;
    this.size = n;
    this.add(index, count);
  }
}

/**
 * The rank hdr-histogram-js looks for at quantile `q` of `total` values:
 * the count at the percentile, rounded up past one ulp of error, at least 1.
 */
function rankAt(q: number, total: number): number {
  const percentile = Math.min(q * 100, 100);
  const fp = (percentile / 100) * total;
  const ulp = fp > 0 ? 2 ** (Math.floor(Math.log2(fp)) - 52) : 0;
  return Math.max(Math.ceil(fp - ulp), 1);
}

/**
 * Writes into `out[i]` the value hdr-histogram-js'
 * `getValueAtPercentile(qs[i] * 100)` gives for the merged counts of
 * `sources`, in units (the highest value of the index the rank falls in),
 * or NaN when they hold nothing. One pass over the merged indexes for every
 * quantile; `qs` in (0, 1] and ascending.
 */
export function quantilesOf(
  sources: readonly SparseCounts[],
  qs: readonly number[],
  out: Float64Array | number[],
): void {
  let total = 0;
  for (const source of sources) total += source.total;
  if (total === 0) {
    for (let i = 0; i < qs.length; i++) out[i] = NaN;
    return;
  }
  const positions = new Array<number>(sources.length).fill(0);
  let done = 0;
  let rank = rankAt(qs[0]!, total);
  let cumulative = 0;
  while (done < qs.length) {
    // The smallest index not yet walked, over every source.
    let key = Infinity;
    for (let s = 0; s < sources.length; s++) {
      const source = sources[s]!;
      const p = positions[s]!;
      if (p < source.size) key = Math.min(key, source.keyAt(p));
    }
    if (key === Infinity) break;
    for (let s = 0; s < sources.length; s++) {
      const source = sources[s]!;
      const p = positions[s]!;
      if (p < source.size && source.keyAt(p) === key) {
        cumulative += source.counts[p]!;
        positions[s] = p + 1;
      }
    }
    // A zero count of a dense window never reaches a rank an earlier index
    // did not.
    while (done < qs.length && cumulative >= rank) {
      out[done++] = hdrHighest(key);
      if (done < qs.length) rank = rankAt(qs[done]!, total);
    }
  }
  // Only reached if the totals disagree with the counts.
  while (done < qs.length) out[done++] = NaN;
}
