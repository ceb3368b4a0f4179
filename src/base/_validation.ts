// The naming and bucket rules of Prometheus metrics, written once: the
// registry throws with these problems, the config loader reports them at
// the file's line and column. Internal: not re-exported.

/** Metric names: the Prometheus data model's rule. */
export const METRIC_NAME: RegExp = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Label names: the Prometheus data model's rule. */
export const LABEL_NAME: RegExp = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The most bucket bounds a histogram takes (the aggregator indexes them in a byte). */
export const MAX_BUCKETS = 254;

/** Label names no user metric may declare: histograms and summaries own them. */
const RESERVED_LABELS: ReadonlySet<string> = new Set(["le", "quantile"]);

/** What is wrong with a metric name, or undefined when it is valid. */
export function metricNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || !METRIC_NAME.test(name)) {
    return `a metric name must match ${METRIC_NAME.source}`;
  }
  if (name.startsWith("__")) return 'names starting with "__" are reserved';
  return undefined;
}

/** What is wrong with a label name, or undefined when it is valid. */
export function labelNameProblem(label: unknown): string | undefined {
  if (typeof label !== "string" || !LABEL_NAME.test(label)) {
    return `label name ${
      JSON.stringify(label)
    } must match ${LABEL_NAME.source}`;
  }
  if (label.startsWith("__")) {
    return `label name "${label}" is reserved: names starting with "__" belong to Prometheus`;
  }
  if (RESERVED_LABELS.has(label)) {
    return `label name "${label}" is reserved for histograms and summaries`;
  }
  return undefined;
}

/** A problem with a list of bucket bounds; `index` points at the culprit. */
export interface BucketsProblem {
  readonly index: number | undefined;
  readonly problem: string;
}

/**
 * What is wrong with histogram bounds (already without a trailing `+Inf`):
 * non-empty, at most {@linkcode MAX_BUCKETS}, finite, strictly increasing.
 */
export function bucketsProblem(
  bounds: readonly unknown[],
): BucketsProblem | undefined {
  if (bounds.length === 0) {
    return { index: undefined, problem: "buckets must not be empty" };
  }
  if (bounds.length > MAX_BUCKETS) {
    return {
      index: MAX_BUCKETS,
      problem: `at most ${MAX_BUCKETS} buckets, got ${bounds.length}`,
    };
  }
  for (let i = 0; i < bounds.length; i++) {
    const bound = bounds[i];
    if (typeof bound !== "number" || !Number.isFinite(bound)) {
      return {
        index: i,
        problem: `bucket bound ${
          String(bound)
        } at index ${i} is not a finite number`,
      };
    }
    const previous = bounds[i - 1] as number;
    if (i > 0 && !(bound > previous)) {
      return {
        index: i,
        problem:
          `buckets must be strictly increasing: ${bound} follows ${previous}`,
      };
    }
  }
  return undefined;
}

export function validateMetricName(name: unknown): string {
  const problem = metricNameProblem(name);
  if (problem !== undefined) {
    throw new TypeError(
      `Cannot register metric ${JSON.stringify(name)}: ${problem}`,
    );
  }
  return name as string;
}

export function validateHelp(metric: string, help: unknown): string {
  if (typeof help !== "string") {
    throw new TypeError(
      `Cannot register metric "${metric}": help must be a string, got ${typeof help}`,
    );
  }
  return help;
}

/** Checks one label name; `owner` names the metric or option for the message. */
export function validateLabelName(owner: string, label: unknown): string {
  const problem = labelNameProblem(label);
  if (problem !== undefined) {
    throw new TypeError(`Cannot register metric "${owner}": ${problem}`);
  }
  return label as string;
}

/** Checks a list of label names: valid, unique, and not among `taken`. */
export function validateLabelNames(
  owner: string,
  labelNames: readonly unknown[] | undefined,
  taken: ReadonlySet<string>,
): readonly string[] {
  if (labelNames === undefined) return [];
  if (!Array.isArray(labelNames)) {
    throw new TypeError(
      `Cannot register metric "${owner}": labelNames must be an array of strings`,
    );
  }
  const seen = new Set<string>();
  for (const label of labelNames) {
    const name = validateLabelName(owner, label);
    if (seen.has(name)) {
      throw new TypeError(
        `Cannot register metric "${owner}": label name "${name}" is listed twice`,
      );
    }
    if (taken.has(name)) {
      throw new TypeError(
        `Cannot register metric "${owner}": label name "${name}" is already a default label of the registry`,
      );
    }
    seen.add(name);
  }
  return Object.freeze([...seen]);
}

/**
 * Checks histogram bounds with {@linkcode bucketsProblem}. A trailing `+Inf`
 * is accepted and dropped: every histogram has one.
 */
export function validateBuckets(
  metric: string,
  buckets: readonly number[],
): readonly number[] {
  if (!Array.isArray(buckets)) {
    throw new TypeError(
      `Cannot register metric "${metric}": buckets must be an array of numbers`,
    );
  }
  const bounds = buckets.at(-1) === Infinity ? buckets.slice(0, -1) : buckets;
  const found = bucketsProblem(bounds);
  if (found !== undefined) {
    throw new RangeError(
      `Cannot register metric "${metric}": ${found.problem}`,
    );
  }
  return Object.freeze([...bounds]);
}

/**
 * The longest delay `setTimeout` takes: a signed 32-bit count of
 * milliseconds. A longer one fires at once, so every timer setting is
 * refused past it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
