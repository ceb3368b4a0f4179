// The classic bucket of a value, found through its HDR index. Internal.
import { hdrHighest, hdrValue } from "./hdr.ts";

/** Marks an HDR index whose values straddle a bucket bound. */
const AMBIGUOUS = 255;
/** The first table: bucket 0 of HDR, every value below 2048 units. */
const FIRST_LENGTH = 2048;

/**
 * The classic bucket of every HDR index whose values all fall in one bucket,
 * so most observations find their bucket with one array read. Indexes whose
 * range (widened by the half unit that rounding to units may move a value)
 * holds a bound are marked ambiguous: those values are compared with the
 * bounds themselves. One per family, shared by its series.
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
    let length = Math.max(from, FIRST_LENGTH);
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
