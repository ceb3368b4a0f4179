// Kit options' `for` durations, checked at construction and read in minutes
// where a kit's promtool series depend on them.

/** A Prometheus duration's whole minutes, rounded up; a TypeError naming `field` otherwise. */
export function durationMinutes(
  kit: string,
  field: string,
  value: unknown,
): number {
  if (typeof value !== "string" || !/^(\d+(ms|s|m|h|d|w|y))+$/.test(value)) {
    throw new TypeError(
      `Cannot create the ${kit} kit: ${field} must be a Prometheus duration such as "5m", got ${
        JSON.stringify(value)
      }`,
    );
  }
  const unit: Record<string, number> = {
    ms: 0.001,
    s: 1,
    m: 60,
    h: 3600,
    d: 86400,
    w: 604800,
    y: 31536000,
  };
  let seconds = 0;
  for (const [, count, u] of value.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    seconds += Number(count) * (unit[u!] ?? 1);
  }
  return Math.ceil(seconds / 60);
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

/** Rounds away binary noise before a number goes into a promtool series. */
export function clean(value: number): number {
  return Number(value.toPrecision(12));
}
