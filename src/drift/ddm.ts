// River's drift.binary.DDM, decision for decision: the same running mean,
// the same strict and non-strict comparisons, the same warm-up gate and the
// same lazy reset on the update after a drift.
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

const KIND = "ddm";
const NAME = "DDM";

/** The options of {@linkcode DDM}: River's parameters, in camelCase. */
export interface DDMOptions {
  /**
   * Updates needed since the last reset before the detector records its
   * minimum and tests for warnings and drifts (River's `warm_start`): a
   * positive integer. The tests start at update `warmStart + 1`.
   *
   * @default {30}
   */
  readonly warmStart?: number;
  /**
   * Standard deviations above the recorded minimum that make a warning
   * (River's `warning_threshold`): a positive number.
   *
   * @default {2}
   */
  readonly warningThreshold?: number;
  /**
   * Standard deviations above the recorded minimum that make a drift
   * (River's `drift_threshold`): a positive number.
   *
   * @default {3}
   */
  readonly driftThreshold?: number;
  /**
   * A floor under the recorded standard deviation `sMin` in the warning and
   * drift tests, which River does not have: a number at least 0. With 0,
   * the detector is River's exactly. A floor such as 0.01 keeps a warm-up
   * without a single error (where `sMin` is 0) from calling the first error
   * a drift.
   *
   * @default {0}
   */
  readonly minStd?: number;
}

/**
 * The Drift Detection Method (Gama et al., 2004), as River's
 * `drift.binary.DDM` computes it, index for index.
 *
 * It follows the error rate `p` (the mean of the inputs, 1 for an error)
 * and its binomial standard deviation `s = sqrt(p (1 - p) / n)`. From update
 * `warmStart + 1` on, it records `pMin` and `sMin` whenever `p + s` is at
 * most its lowest value so far, then reports a warning while
 * `p + s > pMin + warningThreshold · sMin` and a drift once
 * `p + s > pMin + driftThreshold · sMin` (a drift clears the warning). The
 * update after a drift starts afresh, warm-up included.
 *
 * Known weaknesses:
 * - A perfect warm-up: if no error comes in the first `warmStart + 1`
 *   updates, `pMin` and `sMin` are 0, and the first error is a drift
 *   (River does the same). The opt-in `minStd` floor under `sMin` in the
 *   tests avoids it, at the price of leaving River's exact behaviour.
 * - The minimum never rises: a stream that started better than it will ever
 *   be again warns and drifts on a change that is only a return to normal,
 *   and after a long stable run `s` is small, so slow changes are caught
 *   late while the mean of the whole history moves slowly.
 * - Only increases of the error rate are detected, never improvements.
 *
 * @example Detect a rise of the error rate
 * ```ts
 * import { DDM } from "@vigil/observe/drift";
 * import assert from "node:assert/strict";
 *
 * const ddm = new DDM();
 * const states = [];
 * for (let i = 0; i < 200; i++) states.push(ddm.update(i % 10 === 0));
 * for (let i = 0; i < 100; i++) states.push(ddm.update(i % 2 === 0));
 * assert.equal(states.slice(0, 200).includes("drift"), false);
 * assert.equal(states.includes("drift"), true);
 * ```
 */
export class DDM implements DriftDetector<BinaryInput> {
  readonly #warmStart: number;
  readonly #warningThreshold: number;
  readonly #driftThreshold: number;
  readonly #minStd: number;

  // River's stats.Mean of the inputs: its count and its mean.
  #n = 0;
  #p = 0;
  // Infinity until the warm-up ends, as in River.
  #pMin = Infinity;
  #sMin = Infinity;
  #psMin = Infinity;
  #drift = false;
  #warning = false;

  /**
   * Creates a detector with River's defaults for the options not given.
   *
   * @param options The thresholds, the warm-up and the opt-in `minStd` floor.
   * @throws {RangeError} If an option is out of range, naming it and its value.
   */
  constructor(options: DDMOptions = {}) {
    this.#warmStart = numberOption(NAME, "warmStart", options.warmStart ?? 30, {
      min: 1,
      integer: true,
    });
    this.#warningThreshold = numberOption(
      NAME,
      "warningThreshold",
      options.warningThreshold ?? 2,
      { min: 0, minOpen: true },
    );
    this.#driftThreshold = numberOption(
      NAME,
      "driftThreshold",
      options.driftThreshold ?? 3,
      { min: 0, minOpen: true },
    );
    this.#minStd = numberOption(NAME, "minStd", options.minStd ?? 0, {
      min: 0,
    });
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
    this.#p += (1 / this.#n) * (value - this.#p);
    const p = this.#p;
    const s = Math.sqrt(p * (1 - p) / this.#n);

    if (this.#n > this.#warmStart) {
      // Non-strict: a tie moves the minimum to the latest point.
      if (p + s <= this.#psMin) {
        this.#pMin = p;
        this.#sMin = s;
        this.#psMin = p + s;
      }
      const sMin = Math.max(this.#sMin, this.#minStd);
      // Strict: reaching a threshold is not crossing it.
      this.#warning = p + s > this.#pMin + this.#warningThreshold * sMin;
      if (p + s > this.#pMin + this.#driftThreshold * sMin) {
        this.#drift = true;
        this.#warning = false;
      }
    }
    return this.#drift ? "drift" : this.#warning ? "warning" : "stable";
  }

  /** Whether the last update detected a drift. */
  get driftDetected(): boolean {
    return this.#drift;
  }

  /** Whether the last update left the detector in its warning zone (never on a drift). */
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
  get p(): number {
    return this.#p;
  }

  /** The error rate's standard deviation, `sqrt(p (1 - p) / n)`: 0 before any input. */
  get s(): number {
    return this.#n === 0 ? 0 : Math.sqrt(this.#p * (1 - this.#p) / this.#n);
  }

  /** The error rate where `p + s` was lowest after the warm-up: `Infinity` until then, as in River. */
  get pMin(): number {
    return this.#pMin;
  }

  /**
   * The standard deviation where `p + s` was lowest after the warm-up,
   * without the `minStd` floor: `Infinity` until then, as in River.
   */
  get sMin(): number {
    return this.#sMin;
  }

  /**
   * How many (floored) minimal standard deviations `p + s` stands above
   * `pMin`: `(p + s - pMin) / max(sMin, minStd)`, the quantity River
   * compares with the thresholds. It warns above `warningThreshold` and
   * drifts above `driftThreshold`; the decisions themselves use River's
   * comparisons, so at a tie within rounding this ratio and the state can
   * disagree. It is 0 during the warm-up and when `p + s` is at its
   * minimum, and `Infinity` when the floored `sMin` is 0 and `p + s` is
   * above `pMin` (the perfect warm-up's drift).
   */
  get score(): number {
    if (this.#n <= this.#warmStart) return 0;
    const excess = this.p + this.s - this.#pMin;
    if (excess <= 0) return 0;
    return excess / Math.max(this.#sMin, this.#minStd);
  }

  /** Forgets everything, as a new detector with the same options. */
  reset(): void {
    this.#n = 0;
    this.#p = 0;
    this.#pMin = Infinity;
    this.#sMin = Infinity;
    this.#psMin = Infinity;
    this.#drift = false;
    this.#warning = false;
  }

  /**
   * The options and the running state, for {@linkcode DDM.fromJSON}. The
   * minima are -1 until the warm-up ends (JSON has no `Infinity`).
   *
   * @returns A plain object that survives `JSON.stringify` and `JSON.parse`.
   */
  toJSON(): DetectorJSON {
    const recorded = Number.isFinite(this.#psMin);
    return {
      kind: KIND,
      options: {
        warmStart: this.#warmStart,
        warningThreshold: this.#warningThreshold,
        driftThreshold: this.#driftThreshold,
        minStd: this.#minStd,
      },
      state: {
        n: this.#n,
        p: this.#p,
        pMin: recorded ? this.#pMin : -1,
        sMin: recorded ? this.#sMin : -1,
        driftDetected: this.#drift,
        warningDetected: this.#warning,
      },
    };
  }

  /**
   * Restores a detector from its {@linkcode DDM.toJSON}: it goes on exactly
   * as the saved one would have.
   *
   * @param json The output of `toJSON()`, possibly through `JSON.stringify` and `JSON.parse`.
   * @returns The restored detector.
   * @throws {TypeError} If `json` is not a DDM's state.
   * @throws {RangeError} If one of its options is out of range.
   */
  static fromJSON(json: unknown): DDM {
    const { options, state } = checkJSON(KIND, json);
    const detector = new DDM(options as DDMOptions);
    const n = stateNumber(KIND, state, "n");
    const p = stateNumber(KIND, state, "p");
    const pMin = stateNumber(KIND, state, "pMin");
    const sMin = stateNumber(KIND, state, "sMin");
    const drift = stateBoolean(KIND, state, "driftDetected");
    const warning = stateBoolean(KIND, state, "warningDetected");
    const recorded = pMin !== -1 || sMin !== -1;
    if (
      !Number.isInteger(n) || n < 0 || p < 0 || p > 1 ||
      recorded !== n > detector.#warmStart ||
      (recorded && (pMin < 0 || pMin > 1 || sMin < 0)) ||
      (drift && warning)
    ) {
      throw new TypeError(
        `Cannot restore a detector of kind "${KIND}": inconsistent state ${
          JSON.stringify(state)
        }`,
      );
    }
    detector.#n = n;
    detector.#p = p;
    if (recorded) {
      detector.#pMin = pMin;
      detector.#sMin = sMin;
      // The same sum River stored, so the same bits.
      detector.#psMin = pMin + sMin;
    }
    detector.#drift = drift;
    detector.#warning = warning;
    return detector;
  }
}
