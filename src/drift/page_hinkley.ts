// River's drift.PageHinkley, decision for decision: the same running mean,
// the same faded sums and extrema (+Infinity and -1 to start with), the same
// strict comparison with the threshold, the same warm-up gate and the same
// lazy reset on the update after a drift.
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

const KIND = "page_hinkley";
const NAME = "PageHinkley";

/** The directions {@linkcode PageHinkley} watches, as River names them. */
export const PAGE_HINKLEY_MODES = {
  /** Increases of the mean only. */
  up: "up",
  /** Decreases of the mean only. */
  down: "down",
  /** Increases and decreases. */
  both: "both",
} as const;

/** A direction {@linkcode PageHinkley} watches: `"up"`, `"down"` or `"both"`. */
export type PageHinkleyMode =
  typeof PAGE_HINKLEY_MODES[keyof typeof PAGE_HINKLEY_MODES];

/** The options of {@linkcode PageHinkley}: River's parameters, in camelCase. */
export interface PageHinkleyOptions {
  /**
   * Values needed since the last reset before a drift can be reported
   * (River's `min_instances`): a positive integer. The test runs from the
   * update where the count reaches it.
   *
   * @default {30}
   */
  readonly minInstances?: number;
  /**
   * The change tolerated before it counts (River's `delta`), in the unit of
   * the values: a number at least 0. It is subtracted from each deviation
   * in the upward sum and added to it in the downward sum.
   *
   * @default {0.005}
   */
  readonly delta?: number;
  /**
   * How far a cumulative sum must move past its extremum to be a drift
   * (River's `threshold`, lambda), in the unit of the values times a count
   * of updates: a positive number. The comparison is strict.
   *
   * @default {50}
   */
  readonly threshold?: number;
  /**
   * The forgetting factor of the cumulative sums (River's `alpha`): a
   * number above 0 and at most 1. Each update multiplies the previous sums
   * by it; 1 forgets nothing. The running mean itself never forgets.
   *
   * @default {0.9999}
   */
  readonly alpha?: number;
  /**
   * Which changes of the mean are drifts (River's `mode`): `"up"`,
   * `"down"` or `"both"`.
   *
   * @default {"both"}
   */
  readonly mode?: PageHinkleyMode;
}

/**
 * The Page-Hinkley test (Page, 1954), as River's `drift.PageHinkley`
 * computes it, index for index.
 *
 * It keeps the running mean `x̄` of the values since the last reset and two
 * faded cumulative sums of the deviations `x - x̄`: the upward sum
 * `U = alpha · U + (x - x̄) - delta` with its minimum `U_min`, and the
 * downward sum `D = alpha · D + (x - x̄) + delta` with its maximum `D_max`.
 * Once `minInstances` values have been seen, it reports a drift when
 * `U - U_min > threshold` (mode `"up"`), `D_max - D > threshold` (mode
 * `"down"`) or either (mode `"both"`). The update after a drift starts
 * afresh, warm-up included. It has no warning zone.
 *
 * Known weaknesses:
 * - `delta` and `threshold` are in the unit of the values (threshold in
 *   value × updates), so the defaults suit values of order 1: on
 *   milliseconds or bytes they fire on noise, on fractions they hardly fire.
 *   Rescale the values or set both for the stream at hand.
 * - It detects shifts of the mean only: a change of variance or of shape
 *   at the same mean goes unseen.
 * - The reference is the mean of everything since the last reset, so a
 *   slow drift moves its own reference, and with `alpha` below 1 a slow
 *   enough change is forgotten before it adds up.
 * - `threshold` has no probabilistic meaning: there is no false-alarm rate
 *   to choose, only a trade of delay for alarms, found by trying.
 *
 * @example Detect a shift of the mean
 * ```ts
 * import { PageHinkley } from "@vigil/observe/drift";
 * import assert from "node:assert/strict";
 *
 * const ph = new PageHinkley({ threshold: 20 });
 * const states = [];
 * for (let i = 0; i < 300; i++) states.push(ph.update(i % 3));
 * for (let i = 0; i < 100; i++) states.push(ph.update(5 + (i % 3)));
 * assert.equal(states.slice(0, 300).includes("drift"), false);
 * assert.equal(states.includes("drift"), true);
 * assert.equal(ph.warningDetected, false);
 * ```
 */
export class PageHinkley implements DriftDetector<number> {
  readonly #minInstances: number;
  readonly #delta: number;
  readonly #threshold: number;
  readonly #alpha: number;
  readonly #mode: PageHinkleyMode;

  // River's stats.Mean of the values: its count and its mean.
  #n = 0;
  #mean = 0;
  #sumIncrease = 0;
  #sumDecrease = 0;
  // River's starting extrema: +Infinity below, but -1 (not -Infinity) above.
  #minIncrease = Infinity;
  #maxDecrease = -1;
  #drift = false;

  /**
   * Creates a detector with River's defaults for the options not given.
   *
   * @param options The warm-up, tolerance, threshold, forgetting factor and mode.
   * @throws {RangeError} If an option is out of range, naming it and its value.
   */
  constructor(options: PageHinkleyOptions = {}) {
    this.#minInstances = numberOption(
      NAME,
      "minInstances",
      options.minInstances ?? 30,
      { min: 1, integer: true },
    );
    this.#delta = numberOption(NAME, "delta", options.delta ?? 0.005, {
      min: 0,
    });
    this.#threshold = numberOption(
      NAME,
      "threshold",
      options.threshold ?? 50,
      { min: 0, minOpen: true },
    );
    // River's default is 1 - 0.0001, which is this double.
    this.#alpha = numberOption(NAME, "alpha", options.alpha ?? 1 - 0.0001, {
      min: 0,
      minOpen: true,
      max: 1,
    });
    const mode: unknown = options.mode ?? "both";
    if (!Object.values(PAGE_HINKLEY_MODES).includes(mode as PageHinkleyMode)) {
      throw new RangeError(
        `Cannot create ${NAME}: mode must be "up", "down" or "both", got ${
          typeof mode === "string" ? JSON.stringify(mode) : String(mode)
        }`,
      );
    }
    this.#mode = mode as PageHinkleyMode;
  }

  /**
   * Adds one value and returns the state after it.
   *
   * @param x A finite number.
   * @returns `"drift"` on the update that detects a change, `"stable"` otherwise.
   * @throws {TypeError} If `x` is not a finite number.
   */
  update(x: number): DriftState {
    const value = finiteValue(NAME, x);
    if (this.#drift) this.reset();

    // stats.Mean: the same operations in the same order, so the same bits.
    this.#n += 1;
    this.#mean += (1 / this.#n) * (value - this.#mean);
    const deviation = value - this.#mean;

    this.#sumIncrease = this.#alpha * this.#sumIncrease + deviation -
      this.#delta;
    this.#sumDecrease = this.#alpha * this.#sumDecrease + deviation +
      this.#delta;
    // Strict, as River: a tie keeps the extremum (the same number anyway).
    if (this.#sumIncrease < this.#minIncrease) {
      this.#minIncrease = this.#sumIncrease;
    }
    if (this.#sumDecrease > this.#maxDecrease) {
      this.#maxDecrease = this.#sumDecrease;
    }

    // Non-strict warm-up gate; before it River leaves the flag as it was,
    // which is false, since a drift resets everything on the next update.
    if (this.#n >= this.#minInstances) {
      const up = this.#sumIncrease - this.#minIncrease;
      const down = this.#maxDecrease - this.#sumDecrease;
      // Strict: reaching the threshold is not crossing it.
      this.#drift = this.#mode === "up"
        ? up > this.#threshold
        : this.#mode === "down"
        ? down > this.#threshold
        : up > this.#threshold || down > this.#threshold;
    }
    return this.#drift ? "drift" : "stable";
  }

  /** Whether the last update detected a drift. */
  get driftDetected(): boolean {
    return this.#drift;
  }

  /** Always false: Page-Hinkley has no warning zone. */
  get warningDetected(): boolean {
    return false;
  }

  /**
   * Values since the detector last started afresh. After a drift it keeps
   * its count until the next update, which starts again at 1.
   */
  get n(): number {
    return this.#n;
  }

  /** The mean of the values since the last start (it does not fade): 0 before any. */
  get mean(): number {
    return this.#mean;
  }

  /** The faded upward sum `U` of `x - x̄ - delta`: 0 before any value. */
  get sumIncrease(): number {
    return this.#sumIncrease;
  }

  /** The lowest `U` since the last start: `Infinity` before any value, as in River. */
  get minIncrease(): number {
    return this.#minIncrease;
  }

  /** The faded downward sum `D` of `x - x̄ + delta`: 0 before any value. */
  get sumDecrease(): number {
    return this.#sumDecrease;
  }

  /**
   * The highest `D` since the last start: -1 before any value, as in
   * River (its starting maximum is -1, not -Infinity; with `delta` at
   * least 0 the first value always replaces it).
   */
  get maxDecrease(): number {
    return this.#maxDecrease;
  }

  /**
   * The test statistic River compares with `threshold`: `U - U_min` in mode
   * `"up"`, `D_max - D` in mode `"down"`, and the larger of the two in mode
   * `"both"`. It is at least 0, 0 before any value, and computed during the
   * warm-up too, where River does not compare it. A drift is
   * `score > threshold` once `n >= minInstances`.
   */
  get score(): number {
    if (this.#n === 0) return 0;
    const up = this.#sumIncrease - this.#minIncrease;
    const down = this.#maxDecrease - this.#sumDecrease;
    return this.#mode === "up"
      ? up
      : this.#mode === "down"
      ? down
      : Math.max(up, down);
  }

  /** Forgets everything, as a new detector with the same options. */
  reset(): void {
    this.#n = 0;
    this.#mean = 0;
    this.#sumIncrease = 0;
    this.#sumDecrease = 0;
    this.#minIncrease = Infinity;
    this.#maxDecrease = -1;
    this.#drift = false;
  }

  /**
   * The options and the running state, for {@linkcode PageHinkley.fromJSON}.
   * Before any value (`n` 0) `minIncrease` is written as 0, since JSON has
   * no `Infinity`; `n` 0 restores River's starting state whatever it says.
   *
   * @returns A plain object that survives `JSON.stringify` and `JSON.parse`.
   */
  toJSON(): DetectorJSON {
    return {
      kind: KIND,
      options: {
        minInstances: this.#minInstances,
        delta: this.#delta,
        threshold: this.#threshold,
        alpha: this.#alpha,
        mode: this.#mode,
      },
      state: {
        n: this.#n,
        mean: this.#mean,
        sumIncrease: this.#sumIncrease,
        sumDecrease: this.#sumDecrease,
        minIncrease: this.#n === 0 ? 0 : this.#minIncrease,
        maxDecrease: this.#maxDecrease,
        driftDetected: this.#drift,
      },
    };
  }

  /**
   * Restores a detector from its {@linkcode PageHinkley.toJSON}: it goes on
   * exactly as the saved one would have. A state whose sums overflowed to
   * infinity (values near the largest doubles) cannot be written to JSON
   * and is refused.
   *
   * @param json The output of `toJSON()`, possibly through `JSON.stringify` and `JSON.parse`.
   * @returns The restored detector.
   * @throws {TypeError} If `json` is not a Page-Hinkley detector's state.
   * @throws {RangeError} If one of its options is out of range.
   */
  static fromJSON(json: unknown): PageHinkley {
    const { options, state } = checkJSON(KIND, json);
    const detector = new PageHinkley(options as PageHinkleyOptions);
    const n = stateNumber(KIND, state, "n");
    const mean = stateNumber(KIND, state, "mean");
    const sumIncrease = stateNumber(KIND, state, "sumIncrease");
    const sumDecrease = stateNumber(KIND, state, "sumDecrease");
    const minIncrease = stateNumber(KIND, state, "minIncrease");
    const maxDecrease = stateNumber(KIND, state, "maxDecrease");
    const drift = stateBoolean(KIND, state, "driftDetected");
    if (
      !Number.isInteger(n) || n < 0 ||
      (n === 0 && (mean !== 0 || sumIncrease !== 0 || sumDecrease !== 0 ||
        maxDecrease !== -1 || drift)) ||
      (n > 0 && (minIncrease > sumIncrease || maxDecrease < sumDecrease)) ||
      (drift && n < detector.#minInstances)
    ) {
      throw new TypeError(
        `Cannot restore a detector of kind "${KIND}": inconsistent state ${
          JSON.stringify(state)
        }`,
      );
    }
    if (n === 0) return detector;
    detector.#n = n;
    detector.#mean = mean;
    detector.#sumIncrease = sumIncrease;
    detector.#sumDecrease = sumDecrease;
    detector.#minIncrease = minIncrease;
    detector.#maxDecrease = maxDecrease;
    detector.#drift = drift;
    return detector;
  }
}
