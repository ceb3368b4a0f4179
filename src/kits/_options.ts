// Checks of kit options, written once for the kits of this folder: the
// generators would otherwise write a bad threshold into the rules.

// `subject` completes "Cannot create ...": `the jobs kit`, `a circuit breaker`.

/** A Prometheus duration such as `5m` or `1h30m`, in seconds. */
export function durationOption(
  subject: string,
  field: string,
  value: unknown,
): number {
  if (typeof value !== "string" || !/^(\d+(ms|s|m|h|d|w|y))+$/.test(value)) {
    throw new TypeError(
      `Cannot create ${subject}: ${field} must be a Prometheus duration such as "5m", got ${
        JSON.stringify(value)
      }`,
    );
  }
  let seconds = 0;
  for (const [, count, unit] of value.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    seconds += Number(count) * (UNIT_SECONDS[unit ?? "s"] ?? 1);
  }
  return seconds;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
  y: 31536000,
};

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
