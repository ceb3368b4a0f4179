// River's documented drift examples and the loop that feeds a detector, as
// every detector's tests use them.
import assert from "node:assert/strict";
import type { DriftDetector } from "../../src/drift/types.ts";

/** One of `fixtures/drift/river_doc_examples.json`: indices are 0-based. */
export interface RiverExample<X = number> {
  readonly detector: string;
  readonly name: string;
  /** River's keyword arguments: a dict, or its Python text. */
  readonly params: string | Readonly<Record<string, unknown>>;
  readonly stream: readonly X[];
  /** Every index after whose update `warning_detected` is true. */
  readonly warning_indices: readonly number[];
  /** Every index after whose update `drift_detected` is true. */
  readonly drift_indices: readonly number[];
  /** What River's doctest prints. */
  readonly doc_output: readonly string[];
}

const FIXTURES = new URL("../../fixtures/drift/", import.meta.url);

/** A fixture file of `fixtures/drift/`, parsed. */
export function readFixture(name: string): unknown {
  return JSON.parse(Deno.readTextFileSync(new URL(name, FIXTURES)));
}

/**
 * River's documented examples of one detector, their streams of `X` (`0 | 1`
 * for the binary detectors).
 */
export function riverExamples<X = number>(detector: string): RiverExample<X>[] {
  return (readFixture("river_doc_examples.json") as RiverExample<X>[])
    .filter((e) => e.detector === detector);
}

/** River's keyword arguments, as a dict or its Python text, in camelCase. */
export function riverParams(
  params: RiverExample["params"],
): Record<string, unknown> {
  const dict = typeof params === "string"
    ? JSON.parse(
      params.replaceAll("'", '"').replaceAll("True", "true")
        .replaceAll("False", "false"),
    ) as Record<string, unknown>
    : params;
  return Object.fromEntries(
    Object.entries(dict).map((
      [key, value],
    ) => [key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), value]),
  );
}

/** What a detector reported over a stream. */
export interface Run {
  readonly warnings: number[];
  readonly drifts: number[];
  readonly states: string[];
}

/** Feeds `stream` to `detector`, noting the indices of warnings and drifts. */
export function run<X>(detector: DriftDetector<X>, stream: Iterable<X>): Run {
  const warnings: number[] = [];
  const drifts: number[] = [];
  const states: string[] = [];
  let i = 0;
  for (const x of stream) {
    states.push(detector.update(x));
    if (detector.warningDetected) warnings.push(i);
    if (detector.driftDetected) drifts.push(i);
    i++;
  }
  return { warnings, drifts, states };
}

/**
 * What River's doctest of a binary detector prints for a run: the first
 * warning after each drift (or the start), and each drift.
 */
export function binaryPrintout({ warnings, drifts }: Run, length: number) {
  const printed: string[] = [];
  let printWarning = true;
  for (let i = 0; i < length; i++) {
    if (warnings.includes(i) && printWarning) {
      printed.push(`Warning detected at index ${i}`);
      printWarning = false;
    }
    if (drifts.includes(i)) {
      printed.push(`Change detected at index ${i}`);
      printWarning = true;
    }
  }
  return printed;
}

/**
 * Asserts that `actual` is in `expected`'s state (its `toJSON()`, and what
 * `read` gives) and stays so over `future`, update by update. Returns the
 * drifts `expected` met on the way.
 */
export function assertSameCourse<X, D extends DriftDetector<X>>(
  actual: D,
  expected: D,
  future: Iterable<X>,
  read: (detector: D) => unknown[],
): number {
  assert.deepEqual(actual.toJSON(), expected.toJSON());
  assert.deepEqual(read(actual), read(expected));
  let drifts = 0;
  for (const x of future) {
    assert.equal(actual.update(x), expected.update(x));
    assert.deepEqual(read(actual), read(expected));
    if (expected.driftDetected) drifts++;
  }
  assert.deepEqual(actual.toJSON(), expected.toJSON());
  return drifts;
}

/**
 * Feeds `stream` to two detectors from `make()`, stops one after `cut`
 * values (modulo the stream's length plus one), restores it with `restore`
 * through `JSON.stringify` and `JSON.parse`, and asserts it then goes on
 * exactly as the one never stopped (see {@linkcode assertSameCourse}).
 * Returns the drifts the stream met.
 */
export function assertResumes<X, D extends DriftDetector<X>>(
  make: () => D,
  restore: (json: unknown) => D,
  stream: readonly X[],
  cut: number,
  read: (detector: D) => unknown[],
): number {
  const at = cut % (stream.length + 1);
  const whole = make();
  const first = make();
  let drifts = 0;
  for (const x of stream.slice(0, at)) {
    whole.update(x);
    first.update(x);
    if (whole.driftDetected) drifts++;
  }
  const restored = restore(JSON.parse(JSON.stringify(first.toJSON())));
  return drifts + assertSameCourse(restored, whole, stream.slice(at), read);
}
