// A streaming confusion matrix and the quality figures scikit-learn computes
// from one (zero_division=0), over the last `window` predictions and over the
// model's lifetime. Pure and bounded: the aggregation worker owns one per
// classification model.
import type { QualityFigures } from "./model_types.ts";
import { numberOption } from "./types.ts";

const NAME = "ConfusionMatrix";
const RESTORE = "Cannot restore a ConfusionMatrix";

// Up to this many classes every cell index fits the Uint32Array ring; past
// it the ring holds float64 (such a matrix would not fit in memory anyway
// once learned).
const UINT32_CLASSES = 0x10000;

// The capacity a matrix of learned classes starts with: binary models are
// the common case, and never grow.
const INITIAL_CAPACITY = 2;

/** The options of {@linkcode ConfusionMatrix}. */
export interface ConfusionMatrixOptions {
  /** Predictions in the recent window: an integer of at least 1. */
  readonly window: number;
  /**
   * The most classes: an integer of at least 2. Every index given to
   * {@linkcode ConfusionMatrix.add} is below it.
   */
  readonly maxClasses: number;
  /**
   * The number of declared classes, or 0 when classes are learned as they
   * come. Declared (an integer from 2 to `maxClasses`), the macro averages
   * cover every class `0..declared-1` (scikit-learn's `labels=`), and the
   * matrix is binary iff `declared === 2`.
   */
  readonly declared: number;
  /**
   * The index of the positive class of the binary figures, or -1 while it
   * is not known (then the binary precision, recall and F1 are 0). Below
   * `declared` when classes are declared, below `maxClasses` otherwise. It
   * is the initial value of {@linkcode ConfusionMatrix.positive}, which the
   * caller sets when it learns the positive class.
   */
  readonly positive: number;
}

/**
 * The state of a {@linkcode ConfusionMatrix}, as `toJSON()` gives it and
 * `fromJSON()` takes it. The options are not part of it: the caller keeps
 * them (they come from the model's configuration), `positive` included.
 */
export interface ConfusionMatrixJSON {
  /** One more than the highest class index seen over the lifetime; 0 before any prediction. */
  readonly classes: number;
  /**
   * The lifetime counts, `classes × classes`, row-major: the count of
   * predictions of class `p` whose actual class was `a` is at `a * classes + p`
   * (scikit-learn's `C[a, p]`).
   */
  readonly lifetime: readonly number[];
  /** The predicted classes of the recent window, oldest first. */
  readonly recentPredicted: readonly number[];
  /** The actual classes of the recent window, in the order of `recentPredicted`. */
  readonly recentActual: readonly number[];
}

/** The window of {@linkcode ConfusionMatrix.figures}: the last `window` predictions, or all of them. */
export type QualityWindow = "recent" | "lifetime";

/**
 * A confusion matrix fed one prediction at a time, over the last `window`
 * predictions and over the lifetime, and the accuracy, precision, recall and
 * F1 that scikit-learn computes from the same predictions with
 * `zero_division=0`: of class `positive` when the matrix is binary, their
 * macro average otherwise.
 *
 * Class labels are mapped by the caller to dense indexes `0..maxClasses-1`.
 * The macro averages sum the per-class figures in index order as numpy's
 * `mean` does (pairwise), so with labels whose sorted order is their index
 * order they have scikit-learn's bits, not only its value.
 *
 * Memory: the recent window is a ring of `window` matrix cells
 * (`Uint32Array` while `maxClasses` is at most 65536). The two
 * matrices are `capacity × capacity` typed arrays (`Float64Array` for the
 * lifetime, whose counts may pass 2^32; `Int32Array` for the recent
 * window), where `capacity` is `declared`, or for learned classes starts at
 * 2 and doubles (capped at `maxClasses`) when an index reaches it. Doubling
 * keeps a binary model at 48 bytes of matrices instead of 48 KiB at the
 * default 64 classes, and allocates at most log2(maxClasses) times over a
 * lifetime. The ring holds cell offsets, one read and one write a
 * prediction; growing the matrices lays it out again.
 *
 * @example Binary figures over the recent window and the lifetime
 * ```ts
 * import { ConfusionMatrix } from "./quality.ts";
 * import assert from "node:assert/strict";
 *
 * const matrix = new ConfusionMatrix({
 *   window: 3,
 *   maxClasses: 2,
 *   declared: 2,
 *   positive: 1,
 * });
 * // (predicted, actual): a true positive, a false positive, a true negative,
 * // a false negative.
 * for (const [p, a] of [[1, 1], [1, 0], [0, 0], [0, 1]]) matrix.add(p!, a!);
 *
 * assert.deepEqual(matrix.figures("lifetime"), {
 *   predictions: 4,
 *   accuracy: 2 / 4,
 *   precision: 1 / 2,
 *   recall: 1 / 2,
 *   f1Score: 2 / 4,
 * });
 * // The last three: no true positive left.
 * assert.equal(matrix.figures("recent").precision, 0);
 * assert.deepEqual(matrix.predictedCounts(), [2, 2]);
 * ```
 */
export class ConfusionMatrix {
  readonly #window: number;
  readonly #maxClasses: number;
  readonly #declared: number;
  #positive = -1;

  // One more than the highest index seen over the lifetime.
  #seen = 0;
  // The stride of both matrices: cell (actual a, predicted p) is at a * #capacity + p.
  #capacity: number;
  #lifetime: Float64Array;
  #recent: Int32Array;
  #total = 0;

  // The recent window's pairs: #size of them, the next one written at #head.
  // Each pair as its matrix cell, `actual * #capacity + predicted`: one
  // read and one write a prediction. Re-laid when the matrices grow.
  readonly #ring: Uint32Array | Float64Array;
  #head = 0;
  #size = 0;

  /**
   * Creates an empty matrix.
   *
   * @param options The window, the class limit, the declared classes and the positive class.
   * @throws {RangeError} If an option is out of range, naming it and its value.
   */
  constructor(options: ConfusionMatrixOptions) {
    this.#window = numberOption(NAME, "window", options.window, {
      min: 1,
      integer: true,
    });
    this.#maxClasses = numberOption(NAME, "maxClasses", options.maxClasses, {
      min: 2,
      integer: true,
    });
    const declared = options.declared;
    if (
      declared !== 0 &&
      !(Number.isInteger(declared) && declared >= 2 &&
        declared <= this.#maxClasses)
    ) {
      throw new RangeError(
        `Cannot create ${NAME}: declared must be 0 (classes learned) or an integer from 2 to maxClasses (${this.#maxClasses}), got ${
          String(declared)
        }`,
      );
    }
    this.#declared = declared;
    this.#positive = this.#checkPositive(
      `Cannot create ${NAME}`,
      options.positive,
    );

    this.#capacity = declared > 0
      ? declared
      : Math.min(INITIAL_CAPACITY, this.#maxClasses);
    this.#lifetime = new Float64Array(this.#capacity * this.#capacity);
    this.#recent = new Int32Array(this.#capacity * this.#capacity);
    const Ring = this.#maxClasses <= UINT32_CLASSES
      ? Uint32Array
      : Float64Array;
    this.#ring = new Ring(this.#window);
  }

  /**
   * Counts one prediction in the lifetime matrix and in the recent window,
   * where it evicts the oldest once the window is full.
   *
   * On the hot path, it checks nothing: the caller guarantees that both
   * indexes are integers with `0 <= index < maxClasses` (and `< declared`
   * when classes are declared). It allocates only when a learned class
   * index reaches the matrices' capacity.
   *
   * @param predicted The index of the predicted class.
   * @param actual The index of the actual class.
   */
  add(predicted: number, actual: number): void {
    const highest = predicted > actual ? predicted : actual;
    if (highest >= this.#seen) {
      this.#seen = highest + 1;
      if (highest >= this.#capacity) this.#grow(highest + 1);
    }
    const stride = this.#capacity;
    const cell = actual * stride + predicted;
    const lifetime = this.#lifetime;
    const recent = this.#recent;
    lifetime[cell] = lifetime[cell]! + 1;
    this.#total += 1;

    const head = this.#head;
    if (this.#size === this.#window) {
      const evicted = this.#ring[head]!;
      recent[evicted] = recent[evicted]! - 1;
    } else {
      this.#size += 1;
    }
    this.#ring[head] = cell;
    recent[cell] = recent[cell]! + 1;
    this.#head = head + 1 === this.#window ? 0 : head + 1;
  }

  /** Empties the recent window; the lifetime matrix keeps its counts. */
  resetRecent(): void {
    this.#recent.fill(0);
    this.#head = 0;
    this.#size = 0;
  }

  /** The classes: `declared`, or when they are learned, one more than the highest index seen. */
  get classes(): number {
    return this.#declared > 0 ? this.#declared : this.#seen;
  }

  /**
   * Whether the figures are those of class `positive` rather than macro
   * averages: two classes declared, or at most two learned so far.
   */
  get binary(): boolean {
    return this.#declared > 0 ? this.#declared === 2 : this.#seen <= 2;
  }

  /**
   * The index of the positive class of the binary figures, or -1 while it
   * is not known.
   *
   * @throws {RangeError} On assignment of a value other than -1 or an
   * integer below `declared` (when declared) or `maxClasses`.
   */
  get positive(): number {
    return this.#positive;
  }

  set positive(value: number) {
    this.#positive = this.#checkPositive(`Cannot set ${NAME}.positive`, value);
  }

  /**
   * The accuracy, precision, recall and F1 over a window, as scikit-learn's
   * `accuracy_score` and `precision_recall_fscore_support` give them with
   * `zero_division=0`.
   *
   * Binary, they are of class `positive` (all 0 while it is -1). Otherwise
   * they are macro averages over every declared class, or when classes are
   * learned, over the classes present in the window as an actual or a
   * predicted class (scikit-learn's `unique_labels`); F1 is the mean of the
   * per-class F1 scores, `2tp / (2tp + fp + fn)`, as scikit-learn 1.3 and
   * later compute it.
   *
   * @param window `"recent"` for the last `window` predictions since the last
   * {@linkcode ConfusionMatrix.resetRecent}, `"lifetime"` for all of them.
   * @returns The figures; all NaN (and `predictions` 0) when the window is empty.
   */
  figures(window: QualityWindow): QualityFigures {
    const counts = window === "recent" ? this.#recent : this.#lifetime;
    const predictions = window === "recent" ? this.#size : this.#total;
    if (predictions === 0) {
      return {
        predictions: 0,
        accuracy: NaN,
        precision: NaN,
        recall: NaN,
        f1Score: NaN,
      };
    }
    const stride = this.#capacity;
    // Cells of indexes at or past #seen are all 0.
    const seen = this.#seen;
    const k = Math.max(seen, this.#declared);
    const actualSums = new Float64Array(k);
    const predictedSums = new Float64Array(k);
    let trace = 0;
    for (let a = 0; a < seen; a++) {
      for (let p = 0; p < seen; p++) {
        const count = counts[a * stride + p]!;
        actualSums[a] = actualSums[a]! + count;
        predictedSums[p] = predictedSums[p]! + count;
      }
      trace += counts[a * stride + a]!;
    }
    const accuracy = trace / predictions;

    if (this.binary) {
      const c = this.#positive;
      const tp = c >= 0 && c < seen ? counts[c * stride + c]! : 0;
      const actual = actualSums[c] ?? 0;
      const predicted = predictedSums[c] ?? 0;
      return {
        predictions,
        accuracy,
        precision: predicted === 0 ? 0 : tp / predicted,
        recall: actual === 0 ? 0 : tp / actual,
        f1Score: actual + predicted === 0 ? 0 : 2 * tp / (actual + predicted),
      };
    }

    const precisions = new Float64Array(k);
    const recalls = new Float64Array(k);
    const f1Scores = new Float64Array(k);
    let labels = 0;
    for (let c = 0; c < k; c++) {
      const actual = actualSums[c]!;
      const predicted = predictedSums[c]!;
      if (this.#declared === 0 && actual === 0 && predicted === 0) continue;
      const tp = c < seen ? counts[c * stride + c]! : 0;
      precisions[labels] = predicted === 0 ? 0 : tp / predicted;
      recalls[labels] = actual === 0 ? 0 : tp / actual;
      f1Scores[labels] = actual + predicted === 0
        ? 0
        : 2 * tp / (actual + predicted);
      labels += 1;
    }
    return {
      predictions,
      accuracy,
      precision: pairwiseSum(precisions, 0, labels) / labels,
      recall: pairwiseSum(recalls, 0, labels) / labels,
      f1Score: pairwiseSum(f1Scores, 0, labels) / labels,
    };
  }

  /**
   * The lifetime count of predictions of each class, by index (the column
   * sums of the lifetime matrix), as `ml_predictions_total{predicted_class}`
   * exposes them.
   *
   * @returns One count per class of {@linkcode ConfusionMatrix.classes}.
   */
  predictedCounts(): number[] {
    const counts = new Array<number>(this.classes).fill(0);
    const stride = this.#capacity;
    for (let a = 0; a < this.#seen; a++) {
      for (let p = 0; p < this.#seen; p++) {
        counts[p] = counts[p]! + this.#lifetime[a * stride + p]!;
      }
    }
    return counts;
  }

  /**
   * The lifetime matrix and the recent window's pairs in order, for
   * {@linkcode ConfusionMatrix.fromJSON}.
   *
   * @returns A plain object that survives `JSON.stringify` and `JSON.parse`.
   */
  toJSON(): ConfusionMatrixJSON {
    const seen = this.#seen;
    const stride = this.#capacity;
    const lifetime: number[] = [];
    for (let a = 0; a < seen; a++) {
      for (let p = 0; p < seen; p++) {
        lifetime.push(this.#lifetime[a * stride + p]!);
      }
    }
    const recentPredicted: number[] = [];
    const recentActual: number[] = [];
    const window = this.#window;
    const oldest = (this.#head - this.#size + window) % window;
    for (let i = 0; i < this.#size; i++) {
      const slot = (oldest + i) % window;
      const cell = this.#ring[slot]!;
      recentPredicted.push(cell % stride);
      recentActual.push((cell - (cell % stride)) / stride);
    }
    return { classes: seen, lifetime, recentPredicted, recentActual };
  }

  /**
   * The state {@linkcode ConfusionMatrix.toJSON} gives, in bytes: the
   * class count and window length, the lifetime counts as float64 and the
   * recent pairs oldest first as int32 (predicted, then actual). What a
   * worker snapshots after each batch: copying typed arrays costs a few
   * microseconds where `JSON.stringify` of a window of 1000 costs tens.
   *
   * @returns The bytes {@linkcode ConfusionMatrix.fromBytes} reads.
   */
  toBytes(): Uint8Array<ArrayBuffer> {
    const seen = this.#seen;
    const size = this.#size;
    const window = this.#window;
    const stride = this.#capacity;
    const counts = 2 + seen * seen;
    const buffer = new ArrayBuffer(counts * 8 + size * 8);
    const head = new Float64Array(buffer, 0, counts);
    head[0] = seen;
    head[1] = size;
    for (let a = 0; a < seen; a++) {
      head.set(
        this.#lifetime.subarray(a * stride, a * stride + seen),
        2 + a * seen,
      );
    }
    const predicted = new Int32Array(buffer, counts * 8, size);
    const actual = new Int32Array(buffer, counts * 8 + size * 4, size);
    const oldest = (this.#head - size + window) % window;
    for (let i = 0; i < size; i++) {
      const at = oldest + i;
      const cell = this.#ring[at < window ? at : at - window]!;
      const p = cell % stride;
      predicted[i] = p;
      actual[i] = (cell - p) / stride;
    }
    return new Uint8Array(buffer);
  }

  /**
   * Restores a matrix from its {@linkcode ConfusionMatrix.toBytes}, checked
   * as {@linkcode ConfusionMatrix.fromJSON} checks its input.
   *
   * @param bytes The output of `toBytes()`.
   * @param options The options of the matrix, as for the constructor.
   * @returns The restored matrix.
   * @throws {TypeError} If the bytes are not such a state.
   */
  static fromBytes(
    bytes: Uint8Array,
    options: ConfusionMatrixOptions,
  ): ConfusionMatrix {
    const copy = bytes.slice();
    const length = copy.byteLength;
    const header = length >= 16 ? new Float64Array(copy.buffer, 0, 2) : [];
    const [classes = -1, size = -1] = header;
    const counts = 2 + classes * classes;
    if (
      !(Number.isInteger(classes) && classes >= 0 && Number.isInteger(size) &&
        size >= 0 && length === counts * 8 + size * 8)
    ) {
      throw new TypeError(
        `${RESTORE}: expected the toBytes() of one, got ${length} bytes`,
      );
    }
    const lifetime = new Float64Array(copy.buffer, 16, classes * classes);
    const predicted = new Int32Array(copy.buffer, counts * 8, size);
    const actual = new Int32Array(copy.buffer, counts * 8 + size * 4, size);
    return ConfusionMatrix.fromJSON({
      classes,
      lifetime: Array.from(lifetime),
      recentPredicted: Array.from(predicted),
      recentActual: Array.from(actual),
    }, options);
  }

  /**
   * Restores a matrix from its {@linkcode ConfusionMatrix.toJSON}: with the
   * same options, it goes on exactly as the saved one would have. With a
   * smaller `window`, the recent window keeps the newest pairs that fit.
   *
   * @param json The output of `toJSON()`, possibly through `JSON.stringify` and `JSON.parse`.
   * @param options The options of the matrix, as for the constructor.
   * @returns The restored matrix.
   * @throws {TypeError} If `json` is not such a state, or does not fit the
   * options, naming the field at fault.
   * @throws {RangeError} If an option is out of range.
   */
  static fromJSON(
    json: unknown,
    options: ConfusionMatrixOptions,
  ): ConfusionMatrix {
    const matrix = new ConfusionMatrix(options);
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new TypeError(
        `${RESTORE}: expected the toJSON() of one, got ${describe(json)}`,
      );
    }
    const state = json as Record<string, unknown>;
    const limit = matrix.#declared > 0 ? matrix.#declared : matrix.#maxClasses;
    const classes = state.classes;
    if (
      typeof classes !== "number" || !Number.isInteger(classes) ||
      classes < 0 || classes > limit
    ) {
      throw new TypeError(
        `${RESTORE}: classes must be an integer from 0 to ${limit}, got ${
          describe(classes)
        }`,
      );
    }
    const lifetime = countArray(state, "lifetime", Number.MAX_SAFE_INTEGER);
    if (lifetime.length !== classes * classes) {
      throw new TypeError(
        `${RESTORE}: lifetime must hold classes × classes = ${
          classes * classes
        } counts, got ${lifetime.length}`,
      );
    }
    const recentPredicted = countArray(state, "recentPredicted", classes - 1);
    const recentActual = countArray(state, "recentActual", classes - 1);
    if (recentActual.length !== recentPredicted.length) {
      throw new TypeError(
        `${RESTORE}: recentActual must hold as many classes as recentPredicted (${recentPredicted.length}), got ${recentActual.length}`,
      );
    }

    if (classes > matrix.#capacity) matrix.#grow(classes);
    matrix.#seen = classes;
    const stride = matrix.#capacity;
    for (let a = 0; a < classes; a++) {
      for (let p = 0; p < classes; p++) {
        const count = lifetime[a * classes + p]!;
        matrix.#lifetime[a * stride + p] = count;
        matrix.#total += count;
      }
    }
    const skip = Math.max(0, recentPredicted.length - matrix.#window);
    for (let i = skip; i < recentPredicted.length; i++) {
      const predicted = recentPredicted[i]!;
      const actual = recentActual[i]!;
      const cell = actual * stride + predicted;
      const count = matrix.#recent[cell]! + 1;
      if (count > matrix.#lifetime[cell]!) {
        throw new TypeError(
          `${RESTORE}: recentPredicted[${i}] and recentActual[${i}] make more (predicted ${predicted}, actual ${actual}) pairs than lifetime counts (${
            matrix.#lifetime[cell]
          })`,
        );
      }
      matrix.#recent[cell] = count;
      matrix.#ring[matrix.#size] = cell;
      matrix.#size += 1;
    }
    matrix.#head = matrix.#size === matrix.#window ? 0 : matrix.#size;
    return matrix;
  }

  #checkPositive(prefix: string, value: unknown): number {
    const limit = this.#declared > 0 ? this.#declared : this.#maxClasses;
    if (
      typeof value === "number" && Number.isInteger(value) && value >= -1 &&
      value < limit
    ) {
      return value;
    }
    throw new RangeError(
      `${prefix}: positive must be -1 (not known) or an integer from 0 to ${
        limit - 1
      }, got ${describe(value)}`,
    );
  }

  // Copies both matrices into a larger k × k layout: doubling, capped at
  // maxClasses, so a learned model allocates O(log maxClasses) times.
  #grow(needed: number): void {
    const old = this.#capacity;
    const capacity = Math.min(
      this.#maxClasses,
      Math.max(needed, old * 2),
    );
    const lifetime = new Float64Array(capacity * capacity);
    const recent = new Int32Array(capacity * capacity);
    for (let a = 0; a < old; a++) {
      lifetime.set(
        this.#lifetime.subarray(a * old, (a + 1) * old),
        a * capacity,
      );
      recent.set(this.#recent.subarray(a * old, (a + 1) * old), a * capacity);
    }
    const ring = this.#ring;
    for (let i = 0; i < ring.length; i++) {
      const cell = ring[i]!;
      const p = cell % old;
      ring[i] = ((cell - p) / old) * capacity + p;
    }
    this.#capacity = capacity;
    this.#lifetime = lifetime;
    this.#recent = recent;
  }
}

// numpy's pairwise summation of float64 (pairwise_sum_DOUBLE, which
// np.mean's add.reduce runs), so a macro average has the bits of
// scikit-learn's np.average over the same per-class values.
function pairwiseSum(values: Float64Array, start: number, n: number): number {
  if (n < 8) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[start + i]!;
    return sum;
  }
  if (n <= 128) {
    let r0 = values[start]!;
    let r1 = values[start + 1]!;
    let r2 = values[start + 2]!;
    let r3 = values[start + 3]!;
    let r4 = values[start + 4]!;
    let r5 = values[start + 5]!;
    let r6 = values[start + 6]!;
    let r7 = values[start + 7]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const at = start + i;
      r0 += values[at]!;
      r1 += values[at + 1]!;
      r2 += values[at + 2]!;
      r3 += values[at + 3]!;
      r4 += values[at + 4]!;
      r5 += values[at + 5]!;
      r6 += values[at + 6]!;
      r7 += values[at + 7]!;
    }
    let sum = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) sum += values[start + i]!;
    return sum;
  }
  const half = Math.floor(n / 2);
  const n2 = half - (half % 8);
  return pairwiseSum(values, start, n2) +
    pairwiseSum(values, start + n2, n - n2);
}

// The non-negative integers at or below `max` of a state's array field, or
// a TypeError naming the first one that is not.
function countArray(
  state: Record<string, unknown>,
  key: string,
  max: number,
): number[] {
  const value = state[key];
  if (!Array.isArray(value)) {
    throw new TypeError(
      `${RESTORE}: ${key} must be an array, got ${describe(value)}`,
    );
  }
  if (max < 0 && value.length > 0) {
    throw new TypeError(
      `${RESTORE}: ${key} must be empty while classes is 0, got ${value.length} items`,
    );
  }
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (
      typeof item !== "number" || !Number.isInteger(item) || item < 0 ||
      item > max
    ) {
      throw new TypeError(
        `${RESTORE}: ${key}[${i}] must be an integer from 0 to ${max}, got ${
          describe(item)
        }`,
      );
    }
  }
  return value as number[];
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  if (value !== null && typeof value === "object") return "an object";
  return String(value);
}
