// Timing any code into a histogram or summary: a call, or a decorated method.
import { Distribution, DistributionChild } from "./distribution.ts";

/** The `outcome` label values {@linkcode timed} records under. */
export const Outcome = {
  /** The function returned, or its promise resolved. */
  success: "success",
  /** The function threw, or its promise rejected. */
  failure: "failure",
} as const;

/** An outcome of a timed call. */
export type Outcome = typeof Outcome[keyof typeof Outcome];

/**
 * What {@linkcode timed} records into: a label-less histogram or summary,
 * one whose only label is `outcome` (`success` or `failure`), or a child
 * bound with `.labels({...})`.
 */
export type TimedTarget =
  | Distribution<never>
  | Distribution<"outcome">
  | DistributionChild;

/** A method decorator, as TypeScript's standard decorators call it. */
export type TimedDecorator = <This, Args extends unknown[], Return>(
  method: (this: This, ...args: Args) => Return,
  context: ClassMethodDecoratorContext<
    This,
    (this: This, ...args: Args) => Return
  >,
) => (this: This, ...args: Args) => Return;

/**
 * Runs `fn` and records how long it took, in seconds, on success and on
 * failure alike. A function returning a promise is timed until the
 * promise settles. With an `outcome` label, the observation goes to
 * `outcome="success"` or `outcome="failure"`.
 *
 * @param target Where the seconds go.
 * @param fn The code to time; its result or error is passed through.
 * @returns What `fn` returns.
 * @throws {TypeError} When `target` has labels other than `outcome`: bind
 * them first with `.labels({...})`.
 *
 * @example Time a call
 * ```ts
 * import { Registry, timed } from "@vigil/observe/metrics";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const latency = registry.histogram({
 *   name: "score_duration_seconds",
 *   help: "Scoring time",
 *   labelNames: ["outcome"],
 * });
 * const score = await timed(latency, async () => 0.93);
 * assert.equal(score, 0.93);
 * assert.match(
 *   await registry.metrics(),
 *   /^score_duration_seconds_count\{outcome="success"\} 1$/m,
 * );
 * await registry.close();
 * ```
 */
export function timed<T>(target: TimedTarget, fn: () => T): T;
/**
 * A method decorator that times every call of the method as
 * `timed(target, fn)` times one call.
 *
 * @param target Where the seconds go.
 * @returns The decorator.
 * @throws {TypeError} When `target` has labels other than `outcome`.
 *
 * @example Time a method
 * ```ts
 * import { Registry, timed } from "@vigil/observe/metrics";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const latency = registry.histogram({
 *   name: "predict_duration_seconds",
 *   help: "Prediction time",
 *   labelNames: ["outcome"],
 * });
 * class Scorer {
 *   @timed(latency)
 *   score(): number {
 *     throw new Error("model not loaded");
 *   }
 * }
 * assert.throws(() => new Scorer().score(), /model not loaded/);
 * assert.match(
 *   await registry.metrics(),
 *   /^predict_duration_seconds_count\{outcome="failure"\} 1$/m,
 * );
 * await registry.close();
 * ```
 */
export function timed(target: TimedTarget): TimedDecorator;
export function timed<T>(
  target: TimedTarget,
  fn?: () => T,
): T | TimedDecorator {
  const record = recorder(target);
  if (fn !== undefined) return run(record, fn);
  return (method, _context) =>
    function (this, ...args) {
      return run(record, () => method.apply(this, args));
    };
}

type Record = (outcome: Outcome, seconds: number) => void;

/** How a target takes an observation, its label bound once. */
function recorder(target: TimedTarget): Record {
  if (target instanceof DistributionChild) {
    return (_, seconds) => target.observe(seconds);
  }
  if (!(target instanceof Distribution)) {
    throw new TypeError(
      "Cannot time: the target must be a histogram, a summary or a child bound with .labels()",
    );
  }
  const names: readonly string[] = target.labelNames;
  if (names.length === 0) {
    const single = target as Distribution<never>;
    return (_, seconds) => single.observe(seconds);
  }
  if (names.length === 1 && names[0] === "outcome") {
    const byOutcome = target as Distribution<"outcome">;
    const success = byOutcome.labels({ outcome: Outcome.success });
    const failure = byOutcome.labels({ outcome: Outcome.failure });
    return (outcome, seconds) =>
      (outcome === Outcome.success ? success : failure).observe(seconds);
  }
  throw new TypeError(
    `Cannot time with "${target.name}": its labels (${
      names.join(", ")
    }) must be bound first with .labels({...}); only "outcome" is filled in`,
  );
}

function run<T>(record: Record, fn: () => T): T {
  const start = performance.now();
  const done = (outcome: Outcome) =>
    record(outcome, (performance.now() - start) / 1000);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    done(Outcome.failure);
    throw error;
  }
  if (isThenable(result)) {
    return result.then(
      (value) => {
        done(Outcome.success);
        return value;
      },
      (error: unknown) => {
        done(Outcome.failure);
        throw error;
      },
    ) as T;
  }
  done(Outcome.success);
  return result;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}
