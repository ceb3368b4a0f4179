// River's drift.binary.HDDMA (HDDM_A), decision for decision: the same
// running means and cut points, the same Hoeffding bounds computed in the
// same order, the same non-strict comparisons and the same lazy reset on the
// update after a drift.
import {
  type BinaryInput,
  binaryValue,
  checkJSON,
  type DetectorJSON,
  type DriftDetector,
  type DriftState,
  numberOption,
  stateBoolean,
  stateNumber,
} from "./types.ts";

const KIND = "hddm_a";
const NAME = "HDDMA";

/** The options of {@linkcode HDDMA}: River's parameters, in camelCase. */
export interface HDDMAOptions {
  /**
   * The significance of the drift test (River's `drift_confidence`): a
   * number above 0 and below 1. Smaller is stricter. It also sets the
   * Hoeffding bounds that move the cut points.
   *
   * @default {0.001}
   */
  readonly driftConfidence?: number;
  /**
   * The significance of the warning test (River's `warning_confidence`):
   * a number above 0 and below 1, normally above `driftConfidence` so that
   * warnings come before drifts.
   *
   * @default {0.005}
   */
  readonly warningConfidence?: number;
  /**
   * Whether decreases of the error rate are drifts and warnings too
   * (River's `two_sided_test`). By default only increases are.
   *
   * @default {false}
   */
  readonly twoSidedTest?: boolean;
}

/**
 * The Hoeffding Drift Detection Method with the moving-average test, A-test
 * (Frías-Blanco et al., 2014), as River's `drift.binary.HDDMA` computes it,
 * index for index.
 *
 * It keeps the mean `z` of the inputs since the last reset (1 for an
 * error) and a cut point `xMin`: a copy of that mean taken whenever
 * `xMin + ε(xMin.n) >= z + ε(z.n)`, with the Hoeffding bound
 * `ε(n) = sqrt(ln(1 / driftConfidence) / (2n))`, so `xMin` marks where the
 * error rate was lowest with confidence. It reports a drift when
 * `z - xMin >= sqrt(m / 2 · ln(2 / driftConfidence))` with
 * `m = (z.n - xMin.n) / xMin.n / z.n`, else a warning when the same holds
 * with `warningConfidence`. With `twoSidedTest` a cut point `xMax` (the
 * highest error rate) is tested the same way for decreases; a decrease can
 * then report a drift and a warning at once. The update after a drift
 * starts afresh.
 *
 * Known weaknesses:
 * - Hoeffding's inequality assumes independent inputs in [0, 1]: runs of
 *   correlated errors (a bad batch, a flapping dependency) break it and
 *   raise false alarms, and the bounds are loose, so small changes are
 *   caught late.
 * - The means cover everything since the last reset, never a window: after
 *   a long stable run a change must last longer to move them.
 * - One-sided by default: an improvement of the error rate is no drift
 *   unless `twoSidedTest` is set.
 * - The warning zone can flicker on and off update by update near the
 *   bound, as River's does.
 *
 * @example Detect a rise of the error rate
 * ```ts
 * import { HDDMA } from "@vigil/observe/drift";
 * import assert from "node:assert/strict";
 *
 * const hddm = new HDDMA();
 * const states = [];
 * for (let i = 0; i < 300; i++) states.push(hddm.update(i % 10 === 0));
 * for (let i = 0; i < 100; i++) states.push(hddm.update(i % 2 === 0));
 * assert.equal(states.slice(0, 300).includes("drift"), false);
 * assert.equal(states.includes("drift"), true);
 * ```
 */
export class HDDMA implements DriftDetector<BinaryInput> {
  readonly #driftConfidence: number;
  readonly #warningConfidence: number;
  readonly #twoSided: boolean;

  // Three of River's stats.Mean: the inputs', and the two cut points, each
  // a count and a mean (a cut point is a copy of the inputs' mean).
  #n = 0;
  #mean = 0;
  #minN = 0;
  #minMean = 0;
  #maxN = 0;
  #maxMean = 0;
  #drift = false;
  #warning = false;

  /**
   * Creates a detector with River's defaults for the options not given.
   *
   * @param options The two confidences and whether the test is two-sided.
   * @throws {RangeError} If a confidence is not above 0 and below 1, naming it and its value.
   * @throws {TypeError} If `twoSidedTest` is not a boolean.
   */
  constructor(options: HDDMAOptions = {}) {
    this.#driftConfidence = numberOption(
      NAME,
      "driftConfidence",
      options.driftConfidence ?? 0.001,
      { min: 0, minOpen: true, max: 1, maxOpen: true },
    );
    this.#warningConfidence = numberOption(
      NAME,
      "warningConfidence",
      options.warningConfidence ?? 0.005,
      { min: 0, minOpen: true, max: 1, maxOpen: true },
    );
    const twoSided: unknown = options.twoSidedTest ?? false;
    if (typeof twoSided !== "boolean") {
      throw new TypeError(
        `Cannot create ${NAME}: twoSidedTest must be a boolean, got ${
          typeof twoSided === "string"
            ? JSON.stringify(twoSided)
            : String(twoSided)
        }`,
      );
    }
    this.#twoSided = twoSided;
  }

  /**
   * Adds one prediction's outcome and returns the state after it.
   *
   * @param x `true` or `1` for an error, `false` or `0` for a correct prediction.
   * @returns `"drift"` on the update that detects a change, `"warning"` while
   * in the warning zone, `"stable"` otherwise.
   * @throws {TypeError} If `x` is not one of `true`, `false`, `1` or `0`.
   */
  update(x: BinaryInput): DriftState {
    const value = binaryValue(NAME, x);
    if (this.#drift) this.reset();

    // stats.Mean: the same operations in the same order, so the same bits.
    this.#n += 1;
    this.#mean += (1 / this.#n) * (value - this.#mean);
    // A fresh cut point is a copy of the mean just updated.
    if (this.#minN === 0) {
      this.#minN = this.#n;
      this.#minMean = this.#mean;
    }
    if (this.#maxN === 0) {
      this.#maxN = this.#n;
      this.#maxMean = this.#mean;
    }

    const boundZ = this.#bound(this.#n);
    // Non-strict: a tie moves the cut points to the latest mean.
    if (this.#minMean + this.#bound(this.#minN) >= this.#mean + boundZ) {
      this.#minN = this.#n;
      this.#minMean = this.#mean;
    }
    if (this.#maxMean - this.#bound(this.#maxN) <= this.#mean - boundZ) {
      this.#maxN = this.#n;
      this.#maxMean = this.#mean;
    }

    if (this.#increased(this.#driftConfidence)) {
      this.#drift = true;
      this.#warning = false;
    } else {
      this.#drift = false;
      this.#warning = this.#increased(this.#warningConfidence);
    }
    // River leaves the increase test's warning standing when a decrease is
    // a drift, so both can be true.
    if (this.#twoSided) {
      if (this.#decreased(this.#driftConfidence)) this.#drift = true;
      else if (this.#decreased(this.#warningConfidence)) this.#warning = true;
    }
    return this.#drift ? "drift" : this.#warning ? "warning" : "stable";
  }

  // The Hoeffding bound River moves the cut points with, always at the
  // drift confidence, in River's order of operations.
  #bound(n: number): number {
    return Math.sqrt(1 / (2 * n) * Math.log(1 / this.#driftConfidence));
  }

  // The bound River's mean tests use, for a cut point of `cutN` values.
  #testBound(cutN: number, confidence: number): number {
    const m = (this.#n - cutN) / cutN * (1 / this.#n);
    return Math.sqrt(m / 2 * Math.log(2 / confidence));
  }

  #increased(confidence: number): boolean {
    if (this.#minN === this.#n) return false;
    return this.#mean - this.#minMean >=
      this.#testBound(this.#minN, confidence);
  }

  #decreased(confidence: number): boolean {
    if (this.#maxN === this.#n) return false;
    return this.#maxMean - this.#mean >=
      this.#testBound(this.#maxN, confidence);
  }

  /** Whether the last update detected a drift. */
  get driftDetected(): boolean {
    return this.#drift;
  }

  /**
   * Whether the last update left the detector in its warning zone. One-sided
   * it is never true on a drift; two-sided it can be, as in River.
   */
  get warningDetected(): boolean {
    return this.#warning;
  }

  /**
   * Updates since the detector last started afresh. After a drift it keeps
   * its count until the next update, which starts again at 1.
   */
  get n(): number {
    return this.#n;
  }

  /** The error rate since the last start: the mean of the inputs, 0 before any. */
  get mean(): number {
    return this.#mean;
  }

  /**
   * The error rate at the cut point for increases: the mean as it was when
   * `mean + ε(n)` was last at its lowest. 0 before any input.
   */
  get minMean(): number {
    return this.#minMean;
  }

  /** The count at the cut point for increases: 0 before any input. */
  get minN(): number {
    return this.#minN;
  }

  /**
   * The error rate at the cut point for decreases: the mean as it was when
   * `mean - ε(n)` was last at its highest. River keeps it one-sided too,
   * where only the two-sided test reads it. 0 before any input.
   */
  get maxMean(): number {
    return this.#maxMean;
  }

  /** The count at the cut point for decreases: 0 before any input. */
  get maxN(): number {
    return this.#maxN;
  }

  /**
   * The difference of means River compares with its bound: `mean - minMean`
   * (how far the error rate rose since its cut point), and two-sided the
   * larger of that and `maxMean - mean`. It is signed (negative when the
   * error rate is below its cut point) and 0 before any input. The bound
   * it is compared with shrinks as the counts grow, so the same score can
   * be a drift later and not sooner.
   */
  get score(): number {
    const rise = this.#mean - this.#minMean;
    return this.#twoSided ? Math.max(rise, this.#maxMean - this.#mean) : rise;
  }

  /** Forgets everything, as a new detector with the same options. */
  reset(): void {
    this.#n = 0;
    this.#mean = 0;
    this.#minN = 0;
    this.#minMean = 0;
    this.#maxN = 0;
    this.#maxMean = 0;
    this.#drift = false;
    this.#warning = false;
  }

  /**
   * The options and the running state, for {@linkcode HDDMA.fromJSON}.
   *
   * @returns A plain object that survives `JSON.stringify` and `JSON.parse`.
   */
  toJSON(): DetectorJSON {
    return {
      kind: KIND,
      options: {
        driftConfidence: this.#driftConfidence,
        warningConfidence: this.#warningConfidence,
        twoSidedTest: this.#twoSided,
      },
      state: {
        n: this.#n,
        mean: this.#mean,
        minN: this.#minN,
        minMean: this.#minMean,
        maxN: this.#maxN,
        maxMean: this.#maxMean,
        driftDetected: this.#drift,
        warningDetected: this.#warning,
      },
    };
  }

  /**
   * Restores a detector from its {@linkcode HDDMA.toJSON}: it goes on
   * exactly as the saved one would have.
   *
   * @param json The output of `toJSON()`, possibly through `JSON.stringify` and `JSON.parse`.
   * @returns The restored detector.
   * @throws {TypeError} If `json` is not an HDDM_A detector's state.
   * @throws {RangeError} If one of its options is out of range.
   */
  static fromJSON(json: unknown): HDDMA {
    const { options, state } = checkJSON(KIND, json);
    const detector = new HDDMA(options as HDDMAOptions);
    const n = stateNumber(KIND, state, "n");
    const mean = stateNumber(KIND, state, "mean");
    const minN = stateNumber(KIND, state, "minN");
    const minMean = stateNumber(KIND, state, "minMean");
    const maxN = stateNumber(KIND, state, "maxN");
    const maxMean = stateNumber(KIND, state, "maxMean");
    const drift = stateBoolean(KIND, state, "driftDetected");
    const warning = stateBoolean(KIND, state, "warningDetected");
    const count = (c: number) => Number.isInteger(c) && c >= 0 && c <= n;
    const rate = (p: number) => p >= 0 && p <= 1;
    if (
      !Number.isInteger(n) || !count(minN) || !count(maxN) ||
      !rate(mean) || !rate(minMean) || !rate(maxMean) ||
      (n > 0) !== (minN > 0) || (n > 0) !== (maxN > 0) ||
      (n === 0 && (mean !== 0 || minMean !== 0 || maxMean !== 0 || drift)) ||
      (drift && warning && !detector.#twoSided)
    ) {
      throw new TypeError(
        `Cannot restore a detector of kind "${KIND}": inconsistent state ${
          JSON.stringify(state)
        }`,
      );
    }
    detector.#n = n;
    detector.#mean = mean;
    detector.#minN = minN;
    detector.#minMean = minMean;
    detector.#maxN = maxN;
    detector.#maxMean = maxMean;
    detector.#drift = drift;
    detector.#warning = warning;
    return detector;
  }
}
