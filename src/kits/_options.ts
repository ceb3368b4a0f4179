// Checks of kit options, written once for the kits of this folder: the
// generators would otherwise write a bad threshold into the rules.

// `subject` completes "Cannot create ...": `the jobs kit`, `a circuit breaker`.
import { clean, durationSeconds } from "../base/_promql.ts";

export { clean };

/** A Prometheus duration such as `5m` or `1h30m`, in seconds. */
export function durationOption(
  subject: string,
  field: string,
  value: unknown,
): number {
  const seconds = durationSeconds(value);
  if (seconds === undefined) {
    throw new TypeError(
      `Cannot create ${subject}: ${field} must be a Prometheus duration such as "5m", got ${
        JSON.stringify(value)
      }`,
    );
  }
  return seconds;
}

/** A kit's duration option in whole minutes, rounded up. */
export function durationMinutes(
  kit: string,
  field: string,
  value: unknown,
): number {
  return Math.ceil(durationOption(`the ${kit} kit`, field, value) / 60);
}

/** A kit option in `[min, max]` (or `(min, max)` when `open`); a RangeError naming `field` otherwise. */
export function checkOption(
  kit: string,
  field: string,
  value: number,
  min: number,
  max: number,
  open = false,
): number {
  const inside = open
    ? value > min && value < max
    : value >= min && value <= max;
  if (typeof value !== "number" || !Number.isFinite(value) || !inside) {
    const range = open ? `(${min}, ${max})` : `[${min}, ${max}]`;
    throw new RangeError(
      `Cannot create the ${kit} kit: ${field} must be in ${range}, got ${value}`,
    );
  }
  return value;
}

/** A finite number in `(min, max]`, or `(min, max)` when `open`. */
export function numberOption(
  subject: string,
  field: string,
  value: unknown,
  min: number,
  max: number,
  open = false,
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot create ${subject}: ${field} must be a number, got ${
        JSON.stringify(value)
      }`,
    );
  }
  if (
    !Number.isFinite(value) || value <= min || value > max ||
    (open && value === max)
  ) {
    throw new RangeError(
      `Cannot create ${subject}: ${field} must be in (${min}, ${max}${
        open ? ")" : "]"
      }, got ${value}`,
    );
  }
  return value;
}

/** A whole number of at least `min`. */
export function countOption(
  subject: string,
  field: string,
  value: unknown,
  min: number,
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot create ${subject}: ${field} must be a number, got ${
        JSON.stringify(value)
      }`,
    );
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Cannot create ${subject}: ${field} must be a whole number of at least ${min}, got ${value}`,
    );
  }
  return value;
}
