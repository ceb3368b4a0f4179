/** A label value as callers may pass it; numbers are written in decimal. */
export type LabelValue = string | number;

/**
 * The label values of one series, keyed by the metric's label names.
 *
 * @typeParam L The label names.
 */
export type Labels<L extends string> = { readonly [K in L]: LabelValue };

/**
 * The value of every label of the series that absorbs label sets past a
 * metric's cardinality limit.
 */
export const OVERFLOW_LABEL_VALUE = "__overflow__";

/**
 * What every metric is registered with.
 *
 * @typeParam L The label names.
 */
export interface MetricOptions<L extends string> {
  /** The metric name, in base units (`_seconds`, `_bytes`). */
  name: string;
  /** What the metric measures; required and non-empty. */
  help: string;
  /**
   * Names of the labels every series carries, after the registry's default
   * labels.
   * @default {[]}
   */
  labelNames?: readonly L[];
}

/**
 * The type of `value` on a counter or gauge declared with `labelNames`: not
 * a number, so code that uses it as one fails type-checking. Such a metric
 * has no single value; read a child's, `metric.labels({ ... }).value`. (Its
 * label-less methods are refused through their `this` type; TypeScript
 * allows no `this` type on a getter, hence this type.) At run time the
 * getter throws a `TypeError`.
 *
 * @example Read a labelled counter through a child
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const requests = registry.counter({ name: "requests_total", help: "Requests", labelNames: ["method"] });
 * requests.labels({ method: "GET" }).inc();
 * assert.equal(requests.labels({ method: "GET" }).value, 1);
 * assert.throws(() => {
 *   // @ts-expect-error: a counter with labels has no single value
 *   const total: number = requests.value;
 *   return total;
 * }, TypeError);
 * ```
 */
export interface LabelsRequired {
  /** Never present: the type exists to fail a type-check. */
  readonly labelsRequired: never;
}
