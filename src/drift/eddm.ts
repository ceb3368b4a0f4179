// River's drift.binary.EDDM, decision for decision: the same Welford
// variance of the distances between errors, the same two warm-up gates
// (updates for the maximum, errors for the tests) and the same lazy reset
// on the update after a drift.
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

const KIND = "eddm";
const NAME = "EDDM";

/** The options of {@linkcode EDDM}: River's parameters, in camelCase. */
export interface EDDMOptions {
  /**
   * The warm-up (River's `warm_start`), a positive integer: the maximum is
   * recorded only on errors after update `warmStart`, and warnings and
   * drifts are tested only from error `warmStart + 1` on.
   *
   * @default {30}
   */
  readonly warmStart?: number;
  /**
   * The warning level: a warning while `(mean + 2 std) / max` of the
   * distances between errors is below it. Above `beta` and below 1.
   *
   * @default {0.95}
   */
  readonly alpha?: number;
  /**
   * The drift level: a drift once `(mean + 2 std) / max` is below it.
   * Above 0 and below `alpha`.
   *
   * @default {0.9}
   */
  readonly beta?: number;
}

/**
 * The Early Drift Detection Method (Baena-García et al., 2006), as River's
 * `drift.binary.EDDM` computes it, index for index.
 *
 * It follows the distance between consecutive errors (the first error's
 * distance counts from the start): its mean `meanDistance` and standard
 * deviation `stdDistance` (Welford, `n - 1` divisor). On each error after
 * update `warmStart`, a new highest `meanDistance + 2 · stdDistance` is
 * recorded as `maxMeanPlus2Std`; otherwise, once more than `warmStart`
 * errors were seen, the ratio of the two is a drift below `beta` and a
 * warning below `alpha`. Only errors change the state: a correct
 * prediction leaves the warning as it was, a new maximum leaves it as
 * well, and a drift keeps the warning it had. The update after a drift
 * starts afresh, warm-up included.
 *
 * Known weaknesses:
 * - Near-perfect streams: it needs more than `warmStart` errors before it
 *   tests anything, so a rare-error stream can go unwatched for a long
 *   time; and once the distances are long, one short gap between two
 *   errors drops the ratio sharply, so isolated bursts raise drifts.
 * - The first distance counts from the start (River's `_last_error = 0`),
 *   so an error on the first update adds a distance of 1 to the rest: even
 *   perfectly regular errors (at updates 1, 5, 9, …) drift once, when the
 *   spread it added fades.
 * - The maximum never falls, so after an unusually quiet stretch the
 *   detector stays in its warning zone at the normal error rate.
 * - Defaults alpha 0.95 and beta 0.9 are sensitive: on a stationary stream
 *   with a high error rate they raise false alarms (River's own example
 *   uses 0.8 and 0.75).
 * - Only shorter distances (more errors) are detected, never improvements.
 *
 * @example Detect errors coming closer together
 * ```ts
 * import { EDDM } from "@vigil/observe/drift";
 * import assert from "node:assert/strict";
 *
 * const eddm = new EDDM({ alpha: 0.8, beta: 0.75 });
 * const states = [];
 * // Errors 5 and 15 updates apart, then on every other update.
 * for (let i = 0; i < 600; i++) {
 *   states.push(eddm.update(i % 20 === 4 || i % 20 === 19));
 * }
 * for (let i = 0; i < 400; i++) states.push(eddm.update(i % 2 === 1));
 * assert.ok(states.slice(0, 600).every((state) => state === "stable"));
 * assert.ok(states.indexOf("drift") > 600);
 * ```
 */
export class EDDM implements DriftDetector<BinaryInput> {
  readonly #warmStart: number;
  readonly #alpha: number;
  readonly #beta: number;

  #n = 0;
  #lastError = 0;
  #nErrors = 0;
  // River's stats.Var of the distances (its count is #nErrors): the running
  // mean and the sum of squared deviations.
  #mean = 0;
  #squares = 0;
  // River's sentinel: -1 until the first error after the warm-up.
  #p2sMax = -1;
  #drift = false;
  #warning = false;

  /**
   * Creates a detector with River's defaults for the options not given.
   *
   * @param options The warm-up and the two levels, `0 < beta < alpha < 1`.
   * @throws {RangeError} If an option is out of range, naming it and its value.
   */
  constructor(options: EDDMOptions = {}) {
    this.#warmStart = numberOption(NAME, "warmStart", options.warmStart ?? 30, {
      min: 1,
      integer: true,
    });
    this.#alpha = numberOption(NAME, "alpha", options.alpha ?? 0.95, {
      min: 0,
      max: 1,
      minOpen: true,
      maxOpen: true,
    });
    // River only asks alpha >= beta; equal levels would make the warning
    // zone empty, so beta must be strictly below alpha here.
    this.#beta = numberOption(NAME, "beta", options.beta ?? 0.9, {
      min: 0,
      max: this.#alpha,
      minOpen: true,
      maxOpen: true,
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

    this.#n += 1;
    if (value === 1) {
      this.#nErrors += 1;
      // stats.Var.update: the same operations in the same order.
      const distance = this.#n - this.#lastError;
      const before = this.#mean;
      this.#mean += (1 / this.#nErrors) * (distance - before);
      this.#squares += (distance - before) * (distance - this.#mean);

      if (this.#n > this.#warmStart) {
        const p2s = this.#p2s();
        // Strict: an equal value is tested, not recorded.
        if (p2s > this.#p2sMax) {
          this.#p2sMax = p2s;
        } else if (this.#nErrors > this.#warmStart) {
          const level = p2s / this.#p2sMax;
          if (level < this.#beta) this.#drift = true;
          else this.#warning = level < this.#alpha;
        }
      }
      this.#lastError = this.#n;
    }
    return this.#drift ? "drift" : this.#warning ? "warning" : "stable";
  }

  /** Whether the last update detected a drift. */
  get driftDetected(): boolean {
    return this.#drift;
  }

  /**
   * Whether the detector is in its warning zone: set or cleared only by a
   * tested error, so it can stay true on a drift, as in River.
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

  /** Errors since the detector last started afresh. */
  get errors(): number {
    return this.#nErrors;
  }

  /** The mean distance between consecutive errors, the first counted from the start: 0 before any error. */
  get meanDistance(): number {
    return this.#mean;
  }

  /** The standard deviation of those distances (`n - 1` divisor): 0 before the second error. */
  get stdDistance(): number {
    return Math.sqrt(this.#variance());
  }

  /**
   * The highest `meanDistance + 2 · stdDistance` recorded on an error after
   * the warm-up: 0 until the first such error.
   */
  get maxMeanPlus2Std(): number {
    return this.#p2sMax < 0 ? 0 : this.#p2sMax;
  }

  /**
   * The ratio River compares with `alpha` and `beta`:
   * `(meanDistance + 2 · stdDistance) / maxMeanPlus2Std`, as of the last
   * error. It is 1 until a maximum is recorded and on the error that
   * records one; below `alpha` is the warning zone and below `beta` a drift,
   * once more than `warmStart` errors were seen.
   */
  get score(): number {
    return this.#p2sMax < 0 ? 1 : this.#p2s() / this.#p2sMax;
  }

  /** Forgets everything, as a new detector with the same options. */
  reset(): void {
    this.#n = 0;
    this.#lastError = 0;
    this.#nErrors = 0;
    this.#mean = 0;
    this.#squares = 0;
    this.#p2sMax = -1;
    this.#drift = false;
    this.#warning = false;
  }

  /**
   * The options and the running state, for {@linkcode EDDM.fromJSON}.
   *
   * @returns A plain object that survives `JSON.stringify` and `JSON.parse`.
   */
  toJSON(): DetectorJSON {
    return {
      kind: KIND,
      options: {
        warmStart: this.#warmStart,
        alpha: this.#alpha,
        beta: this.#beta,
      },
      state: {
        n: this.#n,
        lastError: this.#lastError,
        errors: this.#nErrors,
        meanDistance: this.#mean,
        sumSquares: this.#squares,
        p2sMax: this.#p2sMax,
        driftDetected: this.#drift,
        warningDetected: this.#warning,
      },
    };
  }

  /**
   * Restores a detector from its {@linkcode EDDM.toJSON}: it goes on
   * exactly as the saved one would have.
   *
   * @param json The output of `toJSON()`, possibly through `JSON.stringify` and `JSON.parse`.
   * @returns The restored detector.
   * @throws {TypeError} If `json` is not an EDDM's state.
   * @throws {RangeError} If one of its options is out of range.
   */
  static fromJSON(json: unknown): EDDM {
    const { options, state } = checkJSON(KIND, json);
    const detector = new EDDM(options as EDDMOptions);
    const n = stateNumber(KIND, state, "n");
    const lastError = stateNumber(KIND, state, "lastError");
    const errors = stateNumber(KIND, state, "errors");
    const mean = stateNumber(KIND, state, "meanDistance");
    const squares = stateNumber(KIND, state, "sumSquares");
    const p2sMax = stateNumber(KIND, state, "p2sMax");
    const drift = stateBoolean(KIND, state, "driftDetected");
    const warning = stateBoolean(KIND, state, "warningDetected");
    if (
      ![n, lastError, errors].every(Number.isInteger) || errors < 0 ||
      errors > n || lastError < 0 || lastError > n ||
      (errors === 0) !== (lastError === 0) || squares < 0 ||
      (errors > 0 && mean < 1) || (p2sMax !== -1 && p2sMax < 1)
    ) {
      throw new TypeError(
        `Cannot restore a detector of kind "${KIND}": inconsistent state ${
          JSON.stringify(state)
        }`,
      );
    }
    detector.#n = n;
    detector.#lastError = lastError;
    detector.#nErrors = errors;
    detector.#mean = mean;
    detector.#squares = squares;
    detector.#p2sMax = p2sMax;
    detector.#drift = drift;
    detector.#warning = warning;
    return detector;
  }

  #variance(): number {
    return this.#nErrors > 1 ? this.#squares / (this.#nErrors - 1) : 0;
  }

  #p2s(): number {
    // River takes `var ** 0.5`, which glibc's pow() rounds 1 ulp away from
    // the exact root about once in a thousand; Math.sqrt is exact-rounded,
    // so a verdict could differ only on a tie within that ulp.
    return this.#mean + 2 * Math.sqrt(this.#variance());
  }
}
