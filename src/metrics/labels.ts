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
