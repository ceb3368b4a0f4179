// HDR histogram counts, sparse: the index math of hdr-histogram-js (3
// significant digits, lowest discernible value 1) over only the indexes a
// series touched (see `SparseCounts`). A series of a few hundred distinct
// values holds about a kilobyte, where a dense hdr-histogram-js histogram
// holds its whole range (93 KB of RSS for values from 1 ms to 1 s) and its
// "packed" one 26 KB, at about 1 µs a value (see the README's "Why not
// hdr-histogram-js for each series"). Percentiles are hdr-histogram-js' own,
// value for value; the tests check it. Internal.
import type { ByteReader, ByteWriter } from "./codec.ts";
import {
  type BlockOwner,
  type ByteArena,
  bytesOf,
  PAGE_BYTES,
  sizeClass,
} from "./arena.ts";

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

/** Distinct indexes before a dense window is considered: below, binary search is fast enough. */
const DENSE_FROM = 64;

/** Bytes a count: 8 is a 64-bit float, for counts past 2^32 - 1 (dense windows only). */
type Width = 1 | 2 | 4 | 8;
/** The largest count of each width. */
const WIDTH_MAX: Readonly<Record<Width, number>> = {
  1: 0xff,
  2: 0xffff,
  4: 0xffffffff,
  8: Number.MAX_SAFE_INTEGER,
};

/** The narrowest width holding `count`. */
function widthOf(count: number): Width {
  return count <= 0xff ? 1 : count <= 0xffff ? 2 : count <= 0xffffffff ? 4 : 8;
}

type Counts = Uint8Array | Uint16Array | Uint32Array | Float64Array;

function newCounts(length: number, width: Width): Counts {
  return width === 1
    ? new Uint8Array(length)
    : width === 2
    ? new Uint16Array(length)
    : width === 4
    ? new Uint32Array(length)
    : new Float64Array(length);
}

/** Bytes a sorted block of `entries` needs at `width`: keys, then counts, 4-aligned. */
function blockBytes(entries: number, width: Width): number {
  return align4(2 * entries) + entries * width;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * The counts of the HDR indexes one series (or one summary slice) touched,
 * in one of two layouts:
 *
 * - **sorted**: a block of a {@linkcode ByteArena}, the indexes ascending in
 *   16 bits, then their counts in 8, 16 or 32 bits (the narrowest that
 *   holds the largest), found by binary search. A series of 300 distinct
 *   values spread over three decades, each seen a few times, holds about
 *   1 KB.
 * - **dense**: an array of counts from index `offset` on, one for every
 *   index whether touched or not, found by subtraction, in 8, 16, 32 or (past
 *   2^32 - 1) 64 bits. Taken when it is at most twice the sorted block, as
 *   in a series of thousands of distinct values, where binary search costs
 *   several times as much.
 *
 * Position `p` below `size` holds `countAt(p)` values at index `keyAt(p)`;
 * a dense window holds zeros too. Nothing is allocated before the first
 * value; {@linkcode dispose} gives the block back.
 */
export class SparseCounts implements BlockOwner {
  readonly #arena: ByteArena;
  /** Bytes a count, in either layout. */
  #width: Width = 1;
  /** Sorted layout: the block's address and size class (-1: no block). */
  #address = 0;
  #class = -1;
  /** Sorted layout: entries the block holds. */
  #capacity = 0;
  /** Sorted layout: the block's page as 16-bit numbers, and where its keys start there. */
  #halves: Uint16Array = EMPTY_HALVES;
  #keys = 0;
  /** Sorted layout: the block's page in the counts' width, and where they start there. */
  #view: Counts = EMPTY_HALVES;
  #counts = 0;
  /** Dense layout: the counts, from index `offset` on. */
  dense: Counts | undefined;
  /** Dense layout: the index at position 0. */
  offset = 0;
  /** Positions in use: indexes in the sorted layout, the window's length in the dense one. */
  size = 0;
  /** The sum of the counts. */
  total = 0;
  /** Indexes with a count: `size` in the sorted layout. */
  distinct = 0;

  constructor(arena: ByteArena) {
    this.#arena = arena;
  }

  /** The index at position `p`. */
  keyAt(p: number): number {
    return this.dense === undefined
      ? this.#halves[this.#keys + p]!
      : this.offset + p;
  }

  /** The count at position `p`. */
  countAt(p: number): number {
    return this.dense === undefined
      ? this.#view[this.#counts + p]!
      : this.dense[p]!;
  }

  /** Counts `count` values at HDR `index` (from 0 to 45055). */
  add(index: number, count = 1): void {
    if (this.dense !== undefined) {
      this.#addDense(index, count);
      return;
    }
    const size = this.size;
    const halves = this.#halves;
    const keys = this.#keys;
    // Binary search for the first key at least `index`.
    let low = 0;
    let high = size;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (halves[keys + mid]! < index) low = mid + 1;
      else high = mid;
    }
    if (low < size && halves[keys + low] === index) {
      const at = this.#counts + low;
      const next = this.#view[at]! + count;
      this.total += count;
      if (next <= WIDTH_MAX[this.#width]) {
        this.#view[at] = next;
        return;
      }
      this.#widen(widthOf(next));
      // Past 32 bits, the counts went dense.
      const dense = this.dense as Counts | undefined;
      if (dense === undefined) this.#view[this.#counts + low] = next;
      else dense[index - this.offset] = next;
      return;
    }
    this.#insert(low, index, count);
    // Unless the count needed 64 bits, which made the counts dense already.
    if (this.dense === undefined && size + 1 >= DENSE_FROM) {
      const span = this.keyAt(size) - this.keyAt(0) + 1;
      if (span * this.#width <= 2 * blockBytes(size + 1, this.#width)) {
        this.#toDense(this.keyAt(0), span, this.#width);
      }
    }
  }

  /** Forgets every count, keeping a sorted block for reuse. */
  clear(): void {
    this.dense = undefined;
    this.size = 0;
    this.total = 0;
    this.distinct = 0;
  }

  /** Gives the block back to the arena: the counts are not used again. */
  dispose(): void {
    this.clear();
    this.#release();
  }

  /** Whether the counts hold a block of the arena. */
  get hasBlock(): boolean {
    return this.#class >= 0;
  }

  /** The block's address (see `ByteArena`). */
  get address(): number {
    return this.#address;
  }

  /** The block's size class. */
  get sizeClass(): number {
    return this.#class;
  }

  /** Follows the block the arena moved as it compacted. */
  relocate(address: number): void {
    this.#place(address, this.#class, this.#width);
  }

  /** Writes the counts: how many indexes have one, then each index as a delta and its count. */
  encode(writer: ByteWriter): void {
    writer.varint(this.distinct);
    let previous = 0;
    for (let p = 0; p < this.size; p++) {
      const count = this.countAt(p);
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
    if (this.#class >= 0 && distinct > this.#capacity) {
      this.#reblock(distinct, this.#width);
    }
    let key = 0;
    for (let i = 0; i < distinct; i++) {
      key += reader.varint();
      this.add(key, reader.varint());
    }
  }

  #insert(at: number, index: number, count: number): void {
    const size = this.size;
    const width = Math.max(this.#width, widthOf(count)) as Width;
    if (width === 8) {
      const low = size > 0 ? Math.min(index, this.keyAt(0)) : index;
      const high = size > 0 ? Math.max(index, this.keyAt(size - 1)) : index;
      this.#toDense(low, high - low + 1, 8);
      this.#addDense(index, count);
      return;
    }
    if (size === this.#capacity || width !== this.#width) {
      this.#reblock(size + 1, width);
    }
    const halves = this.#halves;
    const keys = this.#keys;
    halves.copyWithin(keys + at + 1, keys + at, keys + size);
    halves[keys + at] = index;
    const view = this.#view;
    const counts = this.#counts;
    view.copyWithin(counts + at + 1, counts + at, counts + size);
    view[counts + at] = count;
    this.size = size + 1;
    this.distinct = size + 1;
    this.total += count;
  }

  /** Sets the block's fields from its address, class and count width. */
  #place(address: number, c: number, width: Width): void {
    const arena = this.#arena;
    const bytes = bytesOf(c);
    let capacity = Math.floor(bytes / (2 + width));
    while (blockBytes(capacity, width) > bytes) capacity--;
    const page = Math.floor(address / PAGE_BYTES);
    const offset = address - page * PAGE_BYTES;
    this.#address = address;
    this.#class = c;
    this.#width = width;
    this.#capacity = capacity;
    this.#halves = arena.halves[page]!;
    this.#keys = offset >>> 1;
    this.#view = width === 1
      ? arena.bytes[page]!
      : width === 2
      ? arena.halves[page]!
      : arena.words[page]!;
    this.#counts = (offset + align4(2 * capacity)) / width;
  }

  #release(): void {
    if (this.#class >= 0) this.#arena.release(this.#address, this.#class);
    this.#class = -1;
    this.#capacity = 0;
    this.#halves = EMPTY_HALVES;
    this.#view = EMPTY_HALVES;
  }

  /** Moves the sorted counts into a block for at least `entries` at `width` (1, 2 or 4). */
  #reblock(entries: number, width: Width): void {
    const from = {
      address: this.#address,
      class: this.#class,
      halves: this.#halves,
      keys: this.#keys,
      view: this.#view,
      counts: this.#counts,
    };
    const c = sizeClass(blockBytes(entries, width));
    this.#place(this.#arena.allocate(c), c, width);
    const size = this.size;
    this.#halves.set(
      from.halves.subarray(from.keys, from.keys + size),
      this.#keys,
    );
    // Blocks never overlap, so the counts copy one by one, widening.
    for (let p = 0; p < size; p++) {
      this.#view[this.#counts + p] = from.view[from.counts + p]!;
    }
    if (from.class >= 0) this.#arena.release(from.address, from.class);
  }

  /** Counts wider than `#width` from now on, in either layout. */
  #widen(width: Width): void {
    if (this.dense !== undefined) {
      const dense = newCounts(this.size, width);
      dense.set(this.dense);
      this.dense = dense;
      this.#width = width;
    } else if (width === 8) {
      const span = this.keyAt(this.size - 1) - this.keyAt(0) + 1;
      this.#toDense(this.keyAt(0), span, 8);
    } else this.#reblock(this.size, width);
  }

  /** Moves the sorted counts into a dense window of `span` from index `low`. */
  #toDense(low: number, span: number, width: Width): void {
    const dense = newCounts(span, width);
    for (let p = 0; p < this.size; p++) {
      dense[this.keyAt(p) - low] = this.countAt(p);
    }
    this.#release();
    this.#width = width;
    this.dense = dense;
    this.offset = low;
    this.size = span;
  }

  #addDense(index: number, count: number): void {
    const p = index - this.offset;
    if (p < 0 || p >= this.size) {
      this.#addOutside(index, count);
      return;
    }
    const previous = this.dense![p]!;
    const next = previous + count;
    if (next > WIDTH_MAX[this.#width]) this.#widen(widthOf(next));
    if (previous === 0) this.distinct++;
    this.dense![p] = next;
    this.total += count;
  }

  /**
   * Counts an index outside the dense window: the window grows to it while
   * it stays within five times the sorted block (so one outlier does not
   * cost a window across the whole range), and the counts go back to the
   * sorted layout otherwise, unless they need 64 bits.
   */
  #addOutside(index: number, count: number): void {
    const dense = this.dense!;
    const width = this.#width;
    const low = Math.min(index, this.offset);
    const high = Math.max(index, this.offset + this.size - 1);
    const span = high - low + 1;
    if (
      width === 8 || span * width <= 5 * blockBytes(this.distinct + 1, width)
    ) {
      const grown = newCounts(span, width);
      grown.set(dense, this.offset - low);
      this.dense = grown;
      this.offset = low;
      this.size = span;
      this.#addDense(index, count);
      return;
    }
    const { offset, total, distinct } = this;
    this.dense = undefined;
    this.size = 0;
    this.#reblock(distinct + 1, width);
    const halves = this.#halves;
    const view = this.#view;
    let n = 0;
    for (let p = 0; p < dense.length; p++) {
      if (dense[p] === 0) continue;
      halves[this.#keys + n] = offset + p;
      view[this.#counts + n++] = dense[p]!;
    }
    this.size = n;
    this.total = total;
    this.add(index, count);
  }
}

/** The views of a series without a block: never read past `size`, which is 0. */
const EMPTY_HALVES = new Uint16Array(0);

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
        cumulative += source.countAt(p);
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
