// River's drift.ADWIN (its Rust AdaptiveWindowing, River 0.25 on, the same
// as the optimised Cython of 0.24), cut for cut: the same exponential
// histogram, the same scan over every bucket boundary from the oldest, the
// same bound with its floating-point operations in the same order, and the
// same restart on the update after a drift.
import {
  checkJSON,
  type DetectorJSON,
  type DriftDetector,
  type DriftState,
  finiteValue,
  numberOption,
  stateBoolean,
  stateNumber,
} from "./types.ts";

const KIND = "adwin";
const NAME = "ADWIN";
// A guard on memory that River does not have: each row holds
// `maxBuckets + 1` slots, and a window has a row per power of two.
const MAX_BUCKETS_LIMIT = 65_536;
const INITIAL_ROWS = 8;

/** The options of {@linkcode ADWIN}: River's parameters, in camelCase. */
export interface ADWINOptions {
  /**
   * The confidence of the cut test (River's `delta`): a number strictly
   * between 0 and 1. Smaller values cut later and more rarely.
   *
   * @default {0.002}
   */
  readonly delta?: number;
  /**
   * The cut test runs on every `clock`-th update since the detector last
   * started afresh (River's `clock`): a positive integer. Higher values are
   * cheaper and detect later.
   *
   * @default {32}
   */
  readonly clock?: number;
  /**
   * Buckets of each size kept before the two oldest merge into one of the
   * next size (River's `max_buckets`): an integer from 2 to 65536. More
   * buckets mean finer cut points and more memory. River takes 1 but then
   * fails: a merge empties a row, and a cut later reads an empty row (its
   * Rust panics), so 1 is refused here.
   *
   * @default {5}
   */
  readonly maxBuckets?: number;
  /**
   * The fewest values each side of a cut must hold for the cut to be
   * tested (River's `min_window_length`): a positive integer.
   *
   * @default {5}
   */
  readonly minWindowLength?: number;
  /**
   * The cut test runs only once the window holds more than this many values
   * (River's `grace_period`): an integer at least 0.
   *
   * @default {10}
   */
  readonly gracePeriod?: number;
}

/**
 * ADaptive WINdowing (Bifet and Gavaldà, 2007), as River's `drift.ADWIN`
 * computes it, index for index.
 *
 * It keeps the values seen since it last started afresh in an exponential
 * histogram: rows of buckets holding 1, 2, 4, … values (their sum and
 * their sum of squared deviations), at most `maxBuckets` a row, the two
 * oldest of a full row merging into one bucket of the next. On every
 * `clock`-th update, once the window holds more than `gracePeriod` values,
 * it tries each bucket boundary from the oldest as a cut into an older part
 * `W0` and a newer part `W1`, each at least `minWindowLength` long. A cut
 * whose means differ by more than
 * `ε = sqrt(2 m σ² δ') + 2/3 δ' m`, where `δ' = ln(2 ln(width) / delta)`,
 * `m = 1 / (n0 - minWindowLength + 1) + 1 / (n1 - minWindowLength + 1)` and
 * `σ²` is the window's variance, drops the oldest bucket, and the scan
 * starts again on the shorter window until no cut holds. Such an update
 * reports a drift, and the next update starts afresh with an empty window,
 * as River does.
 *
 * Known weaknesses:
 * - Detection waits for the clock: a change is seen at the earliest on the
 *   first `clock`-th update after it, and never while the window holds at
 *   most `gracePeriod` values, so with the defaults a drift is reported up
 *   to 31 updates late, and the update after a drift starts a blind spell
 *   of at least `max(clock, gracePeriod + 1)` updates.
 * - The window's memory is in rows: cuts fall only on bucket boundaries,
 *   whose spacing doubles with age, so the oldest part of a long window is
 *   dropped in coarse steps and the position of a change is known only
 *   roughly. Memory grows with the logarithm of the window's length.
 * - Sensitive to `delta`: the bound is a union bound over the window, so a
 *   `delta` too large cuts on noise, and one too small misses small changes
 *   in short windows; heavy-tailed values inflate the variance term and
 *   blunt it.
 * - It tests means only: a change of spread or shape with the same mean is
 *   not a drift to it.
 *
 * @example Detect a shift of the mean
 * ```ts
 * import { ADWIN } from "@vigil/observe/drift";
 * import assert from "node:assert/strict";
 *
 * const adwin = new ADWIN();
 * let detectedAt = -1;
 * for (let i = 0; i < 2000 && detectedAt < 0; i++) {
 *   const x = i < 1000 ? i % 2 : 4 + (i % 4);
 *   if (adwin.update(x) === "drift") detectedAt = i;
 * }
 * assert.equal(detectedAt, 1023);
 * // The cut dropped the oldest values; the next update starts afresh.
 * assert.ok(adwin.width < adwin.n);
 * adwin.update(5);
 * assert.equal(adwin.width, 1);
 * ```
 */
export class ADWIN implements DriftDetector<number> {
  readonly #delta: number;
  readonly #clock: number;
  readonly #maxBuckets: number;
  readonly #minWindowLength: number;
  readonly #gracePeriod: number;
  // Slots per row: a row holds `maxBuckets + 1` buckets just before it merges.
  readonly #slots: number;

  // Row r (buckets of 2^r values) is a ring of `#slots` slots from
  // r * #slots, its oldest bucket at #head[r], #count[r] buckets in all.
  #totals: Float64Array;
  #variances: Float64Array;
  #head: Int32Array;
  #count: Int32Array;
  // River's bucket list always holds row 0, even when it is empty.
  #rows = 1;

  // Plain numbers, as River keeps them in doubles.
  #width = 0;
  #total = 0;
  // The sum of squared deviations from the window's mean.
  #variance = 0;
  // River's tick: updates since the detector last started afresh.
  #tick = 0;
  #untilCheck: number;
  #drift = false;
  #score = 0;

  /**
   * Creates a detector with River's defaults for the options not given.
   *
   * @param options River's `delta`, `clock`, `max_buckets`,
   * `min_window_length` and `grace_period`, in camelCase.
   * @throws {RangeError} If an option is out of range, naming it and its value.
   */
  constructor(options: ADWINOptions = {}) {
    this.#delta = numberOption(NAME, "delta", options.delta ?? 0.002, {
      min: 0,
      max: 1,
      minOpen: true,
      maxOpen: true,
    });
    this.#clock = numberOption(NAME, "clock", options.clock ?? 32, {
      min: 1,
      integer: true,
    });
    this.#maxBuckets = numberOption(
      NAME,
      "maxBuckets",
      options.maxBuckets ?? 5,
      { min: 2, max: MAX_BUCKETS_LIMIT, integer: true },
    );
    this.#minWindowLength = numberOption(
      NAME,
      "minWindowLength",
      options.minWindowLength ?? 5,
      { min: 1, integer: true },
    );
    this.#gracePeriod = numberOption(
      NAME,
      "gracePeriod",
      options.gracePeriod ?? 10,
      { min: 0, integer: true },
    );
    this.#slots = this.#maxBuckets + 1;
    this.#totals = new Float64Array(INITIAL_ROWS * this.#slots);
    this.#variances = new Float64Array(INITIAL_ROWS * this.#slots);
    this.#head = new Int32Array(INITIAL_ROWS);
    this.#count = new Int32Array(INITIAL_ROWS);
    this.#untilCheck = this.#clock;
  }

  /**
   * Adds one value to the window and runs the cut test if the clock says so.
   *
   * @param x Any finite number.
   * @returns `"drift"` on the update whose test cut the window, `"stable"`
   * otherwise (ADWIN has no warning zone).
   * @throws {TypeError} If `x` is not a finite number.
   */
  update(x: number): DriftState {
    // `+ 0` turns -0 into 0 and leaves every other number alone: the sign
    // of a zero never reaches a decision, and JSON cannot keep it.
    const value = finiteValue(NAME, x) + 0;
    if (this.#drift) this.reset();

    this.#tick += 1;
    this.#insert(value);
    if (--this.#untilCheck === 0) {
      this.#untilCheck = this.#clock;
      if (this.#width > this.#gracePeriod) this.#drift = this.#cut();
    }
    return this.#drift ? "drift" : "stable";
  }

  /** Whether the last update detected a drift (it cut the window). */
  get driftDetected(): boolean {
    return this.#drift;
  }

  /** Always false: ADWIN has no warning zone. */
  get warningDetected(): boolean {
    return false;
  }

  /**
   * Updates since the detector last started afresh (River's `tick`; River's
   * ADWIN has no `n`). It equals {@linkcode ADWIN.width} except on the
   * update that detected a drift, whose cut dropped the oldest values; the
   * next update starts again at 1.
   */
  get n(): number {
    return this.#tick;
  }

  /** The window's length: how many values it holds (River's `width`). */
  get width(): number {
    return this.#width;
  }

  /** The window's mean, `total / width`: 0 while the window is empty (River's `estimation`). */
  get estimation(): number {
    return this.#width === 0 ? 0 : this.#total / this.#width;
  }

  /**
   * River's `variance`: the sum of the squared deviations of the window's
   * values from its mean, not divided by anything (divide by `width` for
   * the population variance the bound uses).
   */
  get variance(): number {
    return this.#variance;
  }

  /** The sum of the window's values (River's `total`). */
  get total(): number {
    return this.#total;
  }

  /**
   * The largest `|mean(W0) - mean(W1)| / ε` over the cuts that the last
   * cut test tried since the detector last started afresh, over all its
   * passes: at least 1 when that test cut the window (a drift), at most 1
   * otherwise (the two meet only at a tie within the division's rounding),
   * and 0 before the first test or when no cut had `minWindowLength`
   * values each side. A cut with an undefined bound (a variance rounded below 0) does
   * not count. It changes only on the updates that run the test.
   */
  get score(): number {
    return this.#score;
  }

  /** Forgets everything, as a new detector with the same options. */
  reset(): void {
    // River builds a new bucket list; the buffers are kept, emptied.
    this.#head.fill(0);
    this.#count.fill(0);
    this.#rows = 1;
    this.#width = 0;
    this.#total = 0;
    this.#variance = 0;
    this.#tick = 0;
    this.#untilCheck = this.#clock;
    this.#drift = false;
    this.#score = 0;
  }

  /**
   * The options and the running state, for {@linkcode ADWIN.fromJSON}. The
   * buckets are listed row by row from the row of single values, oldest
   * bucket first in each row: `rowCounts[r]` buckets of `2^r` values each,
   * their sums in `totals` and their sums of squared deviations in
   * `variances`.
   *
   * @returns A plain object that survives `JSON.stringify` and `JSON.parse`.
   */
  toJSON(): DetectorJSON {
    const rowCounts: number[] = [];
    const totals: number[] = [];
    const variances: number[] = [];
    for (let r = 0; r < this.#rows; r++) {
      const count = this.#count[r]!;
      rowCounts.push(count);
      for (let k = 0; k < count; k++) {
        const slot = this.#slot(r, k);
        totals.push(this.#totals[slot]!);
        variances.push(this.#variances[slot]!);
      }
    }
    return {
      kind: KIND,
      options: {
        delta: this.#delta,
        clock: this.#clock,
        maxBuckets: this.#maxBuckets,
        minWindowLength: this.#minWindowLength,
        gracePeriod: this.#gracePeriod,
      },
      state: {
        n: this.#tick,
        width: this.#width,
        total: this.#total,
        variance: this.#variance,
        driftDetected: this.#drift,
        score: this.#score,
        rowCounts,
        totals,
        variances,
      },
    };
  }

  /**
   * Restores a detector from its {@linkcode ADWIN.toJSON}: it goes on
   * exactly as the saved one would have.
   *
   * @param json The output of `toJSON()`, possibly through `JSON.stringify` and `JSON.parse`.
   * @returns The restored detector.
   * @throws {TypeError} If `json` is not an ADWIN's state, or its buckets do not add up to its width.
   * @throws {RangeError} If one of its options is out of range.
   */
  static fromJSON(json: unknown): ADWIN {
    const { options, state } = checkJSON(KIND, json);
    const detector = new ADWIN(options as ADWINOptions);
    const n = stateNumber(KIND, state, "n");
    const width = stateNumber(KIND, state, "width");
    const total = stateNumber(KIND, state, "total");
    const variance = stateNumber(KIND, state, "variance");
    const score = stateNumber(KIND, state, "score");
    const drift = stateBoolean(KIND, state, "driftDetected");
    const rowCounts = stateNumbers(state, "rowCounts");
    const totals = stateNumbers(state, "totals");
    const variances = stateNumbers(state, "variances");

    let buckets = 0;
    let values = 0;
    for (let r = 0; r < rowCounts.length; r++) {
      const count = rowCounts[r]!;
      if (
        !Number.isInteger(count) || count < 0 ||
        count > detector.#maxBuckets
      ) {
        inconsistent(`rowCounts[${r}] is ${count}`);
      }
      buckets += count;
      values += count * 2 ** r;
    }
    const last = rowCounts.length - 1;
    if (
      !Number.isInteger(n) || n < 0 || score < 0 ||
      rowCounts.length === 0 || (last > 0 && rowCounts[last] === 0) ||
      totals.length !== buckets || variances.length !== buckets ||
      values !== width || width > n || (!drift && width !== n)
    ) {
      inconsistent(JSON.stringify({ n, width, rowCounts }));
    }

    detector.#reserve(rowCounts.length);
    detector.#rows = rowCounts.length;
    let i = 0;
    for (let r = 0; r < rowCounts.length; r++) {
      const count = rowCounts[r]!;
      detector.#count[r] = count;
      for (let k = 0; k < count; k++, i++) {
        detector.#totals[r * detector.#slots + k] = totals[i]!;
        detector.#variances[r * detector.#slots + k] = variances[i]!;
      }
    }
    detector.#width = width;
    detector.#total = total;
    detector.#variance = variance;
    detector.#tick = n;
    detector.#untilCheck = detector.#clock - (n % detector.#clock);
    detector.#drift = drift;
    detector.#score = score;
    return detector;
  }

  // The slot of row r's k-th oldest bucket.
  #slot(r: number, k: number): number {
    let offset = this.#head[r]! + k;
    if (offset >= this.#slots) offset -= this.#slots;
    return r * this.#slots + offset;
  }

  // Makes room for `rows` rows, keeping the buckets where they are.
  #reserve(rows: number): void {
    const capacity = this.#head.length;
    if (rows <= capacity) return;
    const next = Math.max(rows, capacity * 2);
    const totals = new Float64Array(next * this.#slots);
    totals.set(this.#totals);
    this.#totals = totals;
    const variances = new Float64Array(next * this.#slots);
    variances.set(this.#variances);
    this.#variances = variances;
    const head = new Int32Array(next);
    head.set(this.#head);
    this.#head = head;
    const count = new Int32Array(next);
    count.set(this.#count);
    this.#count = count;
  }

  // River's insert_element and compress_buckets.
  #insert(value: number): void {
    // A merge can open one row at most: make room first, so that the
    // buffers below stay the detector's own.
    if (this.#rows === this.#head.length) this.#reserve(this.#rows + 1);
    const slots = this.#slots;
    const totals = this.#totals;
    const variances = this.#variances;
    const head = this.#head;
    const count = this.#count;

    let slot = head[0]! + count[0]!;
    if (slot >= slots) slot -= slots;
    totals[slot] = value;
    variances[slot] = 0;
    count[0] = count[0]! + 1;

    // The running variance, operations in River's order.
    const width = this.#width + 1;
    this.#width = width;
    if (width > 1) {
      const deviation = value - this.#total / (width - 1);
      this.#variance += (width - 1) * deviation * deviation / width;
    }
    this.#total += value;

    // A full row merges its two oldest buckets into one of the next row;
    // a row holds at most `slots` buckets, so "full" is River's test.
    let r = 0;
    let size = 1;
    let full = count[0]!;
    while (full === slots) {
      const start = head[r]!;
      const first = r * slots + start;
      const second = start + 1 === slots ? r * slots : first + 1;
      // Multiplying by 2^-r rounds the same exact quotient as dividing by 2^r.
      const inverse = 1 / size;
      const mean1 = totals[first]! * inverse;
      const mean2 = totals[second]! * inverse;
      // n1 n2 / (n1 + n2) is size / 2 for two buckets of one size.
      const gap = size * 0.5 * (mean1 - mean2) * (mean1 - mean2);
      const mergedTotal = totals[first]! + totals[second]!;
      const mergedVariance = variances[first]! + variances[second]! + gap;

      const up = r + 1;
      if (up === this.#rows) {
        this.#rows = up + 1;
        head[up] = 0;
        count[up] = 0;
      }
      let next = head[up]! + count[up]!;
      if (next >= slots) next -= slots;
      totals[up * slots + next] = mergedTotal;
      variances[up * slots + next] = mergedVariance;
      full = count[up]! + 1;
      count[up] = full;

      head[r] = start + 2 >= slots ? start + 2 - slots : start + 2;
      count[r] = slots - 2;
      r = up;
      size *= 2;
    }
  }

  // River's detect_change once the clock and the grace period allow it:
  // whether a cut was found (and the window shrunk).
  #cut(): boolean {
    const slots = this.#slots;
    const minLength = this.#minWindowLength;
    const totals = this.#totals;
    let detected = false;
    let score = 0;
    let again = true;
    while (again) {
      again = false;
      const width = this.#width;
      // δ' and the variance term depend on the whole window only, so one
      // evaluation a pass gives the bits River computes at each cut. V8's
      // Math.log can differ from the C library's log (which River's Rust
      // calls) in the last bit, for under 1 argument in 10 000: a decision
      // changes only if a mean gap falls within that bit of ε.
      const logTerm = Math.log(2 * Math.log(width) / this.#delta);
      const meanVariance = this.#variance / width;
      let n0 = 0;
      let n1 = width;
      let u0 = 0;
      let u1 = this.#total;
      // From the oldest row to row 0, each row from its oldest bucket. The
      // last boundary (the whole window in W0) leaves n1 at 0, below
      // minWindowLength, so it is never tested, as in River.
      let size = 2 ** (this.#rows - 1);
      scan: for (let r = this.#rows - 1; r >= 0; r--, size *= 0.5) {
        const count = this.#count[r]!;
        const base = r * slots;
        let offset = this.#head[r]!;
        for (let k = 0; k < count; k++) {
          const bucketTotal = totals[base + offset]!;
          if (++offset === slots) offset = 0;
          n0 += size;
          n1 -= size;
          u0 += bucketTotal;
          u1 -= bucketTotal;
          if (n1 < minLength || n0 < minLength) continue;
          const gap = Math.abs(u0 / n0 - u1 / n1);
          const m = 1 / (n0 - minLength + 1) + 1 / (n1 - minLength + 1);
          const epsilon = Math.sqrt(2 * m * meanVariance * logTerm) +
            2 / 3 * logTerm * m;
          const ratio = gap / epsilon;
          if (ratio > score) score = ratio;
          if (gap > epsilon) {
            detected = true;
            again = true;
            this.#dropOldest();
            break scan;
          }
        }
      }
    }
    this.#score = score;
    return detected;
  }

  // River's delete_element: drops the oldest bucket.
  #dropOldest(): void {
    const last = this.#rows - 1;
    const size = 2 ** last;
    const slot = last * this.#slots + this.#head[last]!;
    const bucketTotal = this.#totals[slot]!;
    const bucketVariance = this.#variances[slot]!;
    const mean = bucketTotal / size;
    this.#width -= size;
    this.#total -= bucketTotal;
    const width = this.#width;
    const windowMean = this.#total / width;
    this.#variance -= bucketVariance +
      size * width * (mean - windowMean) * (mean - windowMean) /
        (size + width);
    let start = this.#head[last]! + 1;
    if (start === this.#slots) start = 0;
    this.#head[last] = start;
    this.#count[last] = this.#count[last]! - 1;
    // Both sides of a cut hold values, so row 0 never empties here.
    if (this.#count[last] === 0) this.#rows -= 1;
  }
}

function inconsistent(detail: string): never {
  throw new TypeError(
    `Cannot restore a detector of kind "${KIND}": inconsistent state: ${detail}`,
  );
}

function stateNumbers(
  state: Readonly<Record<string, unknown>>,
  key: string,
): number[] {
  const value = state[key];
  if (
    Array.isArray(value) &&
    value.every((item) => typeof item === "number" && Number.isFinite(item))
  ) {
    return value as number[];
  }
  throw new TypeError(
    `Cannot restore a detector of kind "${KIND}": state.${key} must be an array of finite numbers`,
  );
}
