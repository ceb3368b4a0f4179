// Name and label checks shared by every metric type. Internal: not re-exported.

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The most bucket bounds a histogram takes (the aggregator indexes them in a byte). */
const MAX_BUCKETS = 254;

/** Label names no user metric may declare: histograms and summaries own them. */
const RESERVED_LABELS: ReadonlySet<string> = new Set(["le", "quantile"]);

export function validateMetricName(name: unknown): string {
  if (typeof name !== "string" || !METRIC_NAME.test(name)) {
    throw new TypeError(
      `Cannot register metric ${
        JSON.stringify(name)
      }: a metric name must match ${METRIC_NAME.source}`,
    );
  }
  if (name.startsWith("__")) {
    throw new TypeError(
      `Cannot register metric "${name}": names starting with "__" are reserved`,
    );
  }
  return name;
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
  if (typeof label !== "string" || !LABEL_NAME.test(label)) {
    throw new TypeError(
      `Cannot register metric "${owner}": label name ${
        JSON.stringify(label)
      } must match ${LABEL_NAME.source}`,
    );
  }
  if (label.startsWith("__")) {
    throw new TypeError(
      `Cannot register metric "${owner}": label name "${label}" is reserved: names starting with "__" belong to Prometheus`,
    );
  }
  if (RESERVED_LABELS.has(label)) {
    throw new TypeError(
      `Cannot register metric "${owner}": label name "${label}" is reserved for histograms and summaries`,
    );
  }
  return label;
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
 * Checks histogram bounds: non-empty, finite, strictly increasing. A trailing
 * `+Inf` is accepted and dropped: every histogram has one.
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
  if (bounds.length === 0) {
    throw new RangeError(
      `Cannot register metric "${metric}": buckets must not be empty`,
    );
  }
  if (bounds.length > MAX_BUCKETS) {
    throw new RangeError(
      `Cannot register metric "${metric}": at most ${MAX_BUCKETS} buckets, got ${bounds.length}`,
    );
  }
  bounds.forEach((bound, i) => {
    if (typeof bound !== "number" || !Number.isFinite(bound)) {
      throw new RangeError(
        `Cannot register metric "${metric}": bucket bound ${bound} at index ${i} is not a finite number`,
      );
    }
    if (i > 0 && !(bound > bounds[i - 1]!)) {
      throw new RangeError(
        `Cannot register metric "${metric}": buckets must be strictly increasing, but ${bound} follows ${
          bounds[i - 1]
        }`,
      );
    }
  });
  return Object.freeze([...bounds]);
}
