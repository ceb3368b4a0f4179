// What every drift detector shares: its state, its interface and the checks
// of its options.

/**
 * A detector's verdict after an update: `"warning"` while in its warning
 * zone (for the detectors that have one), `"drift"` on the update a change
 * is detected.
 */
export type DriftState = "stable" | "warning" | "drift";

/** The serialisable state of a detector: what `fromJSON()` restores exactly. */
export interface DetectorJSON {
  /** The detector: `"ddm"`, `"eddm"`, `"hddm_a"`, `"page_hinkley"` or `"adwin"`. */
  readonly kind: string;
  /** Its options, as given and defaulted. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Its running state: numbers, booleans and arrays of numbers only. */
  readonly state: Readonly<Record<string, unknown>>;
}

/** What the five detectors have in common. */
export interface DriftDetector<X> {
  /**
   * Adds one value and returns the state after it. A drift resets the
   * detector's statistics on the next update, as River does.
   */
  update(x: X): DriftState;
  /** Whether the last update detected a drift. */
  readonly driftDetected: boolean;
  /** Whether the last update left the detector in its warning zone (always false where it has none). */
  readonly warningDetected: boolean;
  /** Values seen since the detector last started afresh (a drift restarts it). */
  readonly n: number;
  /** Forgets everything, as a new detector with the same options. */
  reset(): void;
  /** The state, enough for the class's `fromJSON()` to restore it exactly. */
  toJSON(): DetectorJSON;
}

/**
 * An error's input: `true` or `1` for an error (a wrong prediction),
 * `false` or `0` for a correct one.
 */
export type BinaryInput = boolean | 0 | 1;

/** Converts a binary input to 0 or 1, or throws naming the detector. */
export function binaryValue(detector: string, x: unknown): 0 | 1 {
  if (x === true || x === 1) return 1;
  if (x === false || x === 0) return 0;
  throw new TypeError(
    `Cannot update ${detector}: expected true or 1 for an error, false or 0 for a correct prediction, got ${
      describeValue(x)
    }`,
  );
}

/** Checks a numeric input is finite, or throws naming the detector. */
export function finiteValue(detector: string, x: unknown): number {
  if (typeof x === "number" && Number.isFinite(x)) return x;
  throw new TypeError(
    `Cannot update ${detector}: expected a finite number, got ${
      describeValue(x)
    }`,
  );
}

function describeValue(x: unknown): string {
  return typeof x === "string" ? JSON.stringify(x) : String(x);
}

/**
 * Returns `value` if it is a finite number within `[min, max]` (ends
 * excluded where `open` says so), or throws a `RangeError` naming the
 * detector, the option and the value.
 */
export function numberOption(
  detector: string,
  option: string,
  value: unknown,
  bounds: {
    readonly min?: number;
    readonly max?: number;
    readonly minOpen?: boolean;
    readonly maxOpen?: boolean;
    readonly integer?: boolean;
  },
): number {
  const { min = -Infinity, max = Infinity, minOpen = false, maxOpen = false } =
    bounds;
  const ok = typeof value === "number" && Number.isFinite(value) &&
    (minOpen ? value > min : value >= min) &&
    (maxOpen ? value < max : value <= max) &&
    (!bounds.integer || Number.isInteger(value));
  if (ok) return value as number;
  const range = [
    bounds.integer ? "an integer" : "a number",
    min === -Infinity ? "" : ` ${minOpen ? "above" : "at least"} ${min}`,
    min !== -Infinity && max !== Infinity ? " and" : "",
    max === Infinity ? "" : ` ${maxOpen ? "below" : "at most"} ${max}`,
  ].join("");
  throw new RangeError(
    `Cannot create ${detector}: ${option} must be ${range}, got ${
      describeValue(value)
    }`,
  );
}

/** Checks a `fromJSON()` input is this detector's, or throws. */
export function checkJSON(kind: string, json: unknown): DetectorJSON {
  const value = json as DetectorJSON | null;
  if (
    value === null || typeof value !== "object" || value.kind !== kind ||
    typeof value.options !== "object" || typeof value.state !== "object"
  ) {
    throw new TypeError(
      `Cannot restore a detector of kind "${kind}": expected the toJSON() of one`,
    );
  }
  return value;
}

/** A finite number of a `toJSON()` state, or a `TypeError` naming it. */
export function stateNumber(
  kind: string,
  state: Readonly<Record<string, unknown>>,
  key: string,
): number {
  const value = state[key];
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new TypeError(
    `Cannot restore a detector of kind "${kind}": state.${key} must be a finite number, got ${
      String(value)
    }`,
  );
}

/** A boolean of a `toJSON()` state, or a `TypeError` naming it. */
export function stateBoolean(
  kind: string,
  state: Readonly<Record<string, unknown>>,
  key: string,
): boolean {
  const value = state[key];
  if (typeof value === "boolean") return value;
  throw new TypeError(
    `Cannot restore a detector of kind "${kind}": state.${key} must be a boolean, got ${
      String(value)
    }`,
  );
}
