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
 * failure alike. A function returning a `Promise` is timed until the
 * promise settles; any other thenable (a lazy query builder, say) is
 * returned as it is, not run, and timed only until `fn` returns. With an
 * `outcome` label, the observation goes to `outcome="success"` or
 * `outcome="failure"`; the target's other labels come from
 * `options.labels`, or are bound first with `.labels({...})`.
 *
 * @param target Where the seconds go.
 * @param fn The code to time; its result or error is passed through.
 * @param options The values of the target's labels other than `outcome`.
 * @returns What `fn` returns.
 * @throws {TypeError} When the target's labels are not exactly those of
 * `options.labels`, plus `outcome` if it declares it.
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
export function timed<T, L extends string = never>(
  target: TimedTarget | Distribution<L> | Distribution<L | "outcome">,
  fn: () => T,
  options?: {
    /**
     * The values of the target's labels other than `outcome`, which
     * `timed` fills in: `{ operation: "get" }` for a histogram declaring
     * `["operation", "outcome"]`.
     * @default {{} (the target has no labels, or only outcome)}
     */
    readonly labels?: Readonly<Record<Exclude<L, "outcome">, string>>;
  },
): T;
/**
 * A method decorator that times every call of the method as
 * `timed(target, fn)` times one call. It decorates methods only (static,
 * private and instance ones); on a field, accessor or class it throws.
 *
 * @param target Where the seconds go.
 * @returns The decorator.
 * @throws {TypeError} When `target` has labels other than `outcome`, or
 * the decorator is put on anything but a method.
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
  target: TimedTarget | Distribution<string>,
  fn?: () => T,
  options?: { readonly labels?: Readonly<Record<string, string>> },
): T | TimedDecorator {
  const record = recorder(target, options?.labels ?? {});
  if (fn !== undefined) return run(record, fn);
  return (method, context) => {
    // Decorators are untyped at run time: a field or accessor lands here.
    const kind: string = context.kind;
    if (kind !== "method") {
      throw new TypeError(
        `Cannot time ${
          String(context.name)
        }: @timed decorates methods only, got a ${kind}`,
      );
    }
    return function (this, ...args) {
      return run(record, () => method.apply(this, args));
    };
  };
}

type Recorder = (outcome: Outcome, seconds: number) => void;

/** How a target takes an observation, its labels bound once. */
function recorder(
  target: TimedTarget | Distribution<string>,
  given: Readonly<Record<string, string>>,
): Recorder {
  const bound = Object.keys(given);
  if (target instanceof DistributionChild) {
    if (bound.length === 0) return (_, seconds) => target.observe(seconds);
    throw new TypeError(
      `Cannot time: options.labels (${
        bound.join(", ")
      }) need a histogram or summary, not a child bound with .labels()`,
    );
  }
  if (!(target instanceof Distribution)) {
    throw new TypeError(
      "Cannot time: the target must be a histogram, a summary or a child bound with .labels()",
    );
  }
  const names: readonly string[] = target.labelNames;
  const rest = names.filter((name) => name !== "outcome");
  const fits = !Object.hasOwn(given, "outcome") &&
    bound.length === rest.length &&
    rest.every((name) => Object.hasOwn(given, name));
  if (!fits) {
    throw new TypeError(
      `Cannot time with "${target.name}": its labels (${
        names.join(", ")
      }) but "outcome" must be given in options.labels or bound first with .labels({...}), got ${
        JSON.stringify(given)
      }`,
    );
  }
  if (names.length === 0) {
    const single = target as Distribution<never>;
    return (_, seconds) => single.observe(seconds);
  }
  const any = target as Distribution<string>;
  if (rest.length === names.length) {
    const child = any.labels(given);
    return (_, seconds) => child.observe(seconds);
  }
  const success = any.labels({ ...given, outcome: Outcome.success });
  const failure = any.labels({ ...given, outcome: Outcome.failure });
  return (outcome, seconds) =>
    (outcome === Outcome.success ? success : failure).observe(seconds);
}

/** Runs `fn`, recording its seconds when it returns, throws or settles. */
function run<T>(record: Recorder, fn: () => T): T {
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
  // Only a Promise: another thenable may be lazy (run by then(), as query
  // builders are) or return nothing from then(); it is timed until fn
  // returns and handed back untouched.
  if (result instanceof Promise) {
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
