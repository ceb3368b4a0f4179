/**
 * Prometheus' default histogram buckets, in seconds: from 5 ms to 10 s.
 */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
]);

/**
 * Buckets spaced evenly: `start`, `start + width`, ... (`count` bounds).
 *
 * @param start The first upper bound.
 * @param width The distance between bounds, positive.
 * @param count How many bounds, at least 1.
 * @returns The bounds, ascending.
 * @throws {RangeError} When an argument is out of range.
 *
 * @example Ten buckets of 100 ms
 * ```ts
 * import { linearBuckets } from "@vigil/observe/metrics";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(linearBuckets(0.1, 0.1, 3), [0.1, 0.2, 0.3]);
 * ```
 */
export function linearBuckets(
  start: number,
  width: number,
  count: number,
): number[] {
  if (!Number.isFinite(start)) {
    throw new RangeError(
      `Cannot make linear buckets: start must be finite, got ${start}`,
    );
  }
  if (!(Number.isFinite(width) && width > 0)) {
    throw new RangeError(
      `Cannot make linear buckets: width must be finite and positive, got ${width}`,
    );
  }
  checkCount("linear", count);
  // Multiply rather than accumulate, so bounds carry no summed rounding error.
  return Array.from(
    { length: count },
    (_, i) => Number((start + i * width).toPrecision(15)),
  );
}

/**
 * Buckets growing by a factor: `start`, `start * factor`, ... (`count` bounds).
 *
 * @param start The first upper bound, positive.
 * @param factor The growth factor, above 1.
 * @param count How many bounds, at least 1.
 * @returns The bounds, ascending.
 * @throws {RangeError} When an argument is out of range.
 *
 * @example Powers of two from 1 ms
 * ```ts
 * import { exponentialBuckets } from "@vigil/observe/metrics";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(exponentialBuckets(0.001, 2, 4), [0.001, 0.002, 0.004, 0.008]);
 * ```
 */
export function exponentialBuckets(
  start: number,
  factor: number,
  count: number,
): number[] {
  if (!(Number.isFinite(start) && start > 0)) {
    throw new RangeError(
      `Cannot make exponential buckets: start must be finite and positive, got ${start}`,
    );
  }
  if (!(Number.isFinite(factor) && factor > 1)) {
    throw new RangeError(
      `Cannot make exponential buckets: factor must be finite and above 1, got ${factor}`,
    );
  }
  checkCount("exponential", count);
  return Array.from(
    { length: count },
    (_, i) => Number((start * factor ** i).toPrecision(15)),
  );
}

function checkCount(kind: string, count: number): void {
  if (!(Number.isInteger(count) && count >= 1)) {
    throw new RangeError(
      `Cannot make ${kind} buckets: count must be a positive integer, got ${count}`,
    );
  }
}
