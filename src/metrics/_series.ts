// Label sets of one metric: lookup without hashing, well-formed and bounded
// label values, cardinality limit, overflow series. Internal.
import {
  OVERFLOW_REASON,
  type OverflowReason,
  type RegistryContext,
} from "./_family.ts";
import { type Labels, OVERFLOW_LABEL_VALUE } from "./labels.ts";
import { renderPairs } from "../base/_text.ts";

/** One series: its child, and its label pairs rendered once at creation. */
export interface Series<C> {
  readonly child: C;
  /** `a="b",c="d"` with default labels first, or "" when there are none. */
  readonly pairs: string;
  /** The metric's label values, in label order (default labels excluded). */
  readonly values: readonly string[];
}

type Node<C> = Map<string, Node<C> | Series<C>>;

/**
 * The series of one metric. Lookups walk one `Map` per label, so a label
 * value never needs joining or hashing into a composite key, and no two label
 * sets can collide whatever characters they hold.
 */
export class SeriesSet<C> {
  readonly #metric: string;
  readonly #labelNames: readonly string[];
  readonly #context: RegistryContext;
  readonly #create: (labelValues: readonly string[], pairs: string) => C;
  readonly #dispose: ((child: C) => void) | undefined;
  readonly #root: Node<C> = new Map();
  readonly #series = new Set<Series<C>>();
  #overflow: Series<C> | undefined;
  readonly #unlabelled: C | undefined;

  constructor(
    metric: string,
    labelNames: readonly string[],
    context: RegistryContext,
    create: (labelValues: readonly string[], pairs: string) => C,
    dispose?: (child: C) => void,
  ) {
    this.#metric = metric;
    this.#labelNames = labelNames;
    this.#context = context;
    this.#create = create;
    this.#dispose = dispose;
    this.#unlabelled = labelNames.length === 0
      ? this.#add([]).child
      : undefined;
  }

  /** The series of a label-less metric, or undefined when it has labels. */
  get unlabelled(): C | undefined {
    return this.#unlabelled;
  }

  /** Returns the child for a label set, creating it on first use. */
  get(labels: Labels<string>): C {
    const names = this.#labelNames;
    if (names.length === 0) return this.#lookupFailed(labels);
    if (labels === null || typeof labels !== "object") {
      return this.#lookupFailed(labels);
    }
    let given = 0;
    for (const _ in labels) given++;
    if (given !== names.length) return this.#lookupFailed(labels);
    let node: Node<C> = this.#root;
    const last = names.length - 1;
    for (let i = 0; i < last; i++) {
      const key = fastKey(labels[names[i]!]);
      const next = key === undefined ? undefined : node.get(key);
      if (next === undefined) return this.#miss(labels);
      node = next as Node<C>;
    }
    const key = fastKey(labels[names[last]!]);
    const leaf = key === undefined
      ? undefined
      : node.get(key) as Series<C> | undefined;
    return leaf === undefined ? this.#miss(labels) : leaf.child;
  }

  /** Forgets the series of a label set; returns whether it existed. */
  delete(labels: Labels<string>): boolean {
    const values = this.#stored(this.#checked(labels));
    // A value past the length limit was never stored.
    if (values === undefined) return false;
    const path: Node<C>[] = [];
    let node: Node<C> = this.#root;
    for (let i = 0; i < values.length - 1; i++) {
      const next = node.get(values[i]!) as Node<C> | undefined;
      if (next === undefined) return false;
      path.push(node);
      node = next;
    }
    const key = values[values.length - 1]!;
    const leaf = node.get(key) as Series<C> | undefined;
    if (leaf === undefined) return false;
    node.delete(key);
    this.#series.delete(leaf);
    this.#dispose?.(leaf.child);
    // Drop maps left empty, so label churn does not leave a trail behind.
    for (let i = path.length - 1; i >= 0 && node.size === 0; i--) {
      path[i]!.delete(values[i]!);
      node = path[i]!;
    }
    return true;
  }

  /** Forgets every series of a labelled metric; a label-less one keeps its series. */
  clear(): void {
    if (this.#labelNames.length === 0) return;
    if (this.#dispose !== undefined) {
      for (const { child } of this.#series) this.#dispose(child);
    }
    this.#root.clear();
    this.#series.clear();
    this.#overflow = undefined;
  }

  /** The label names, in declaration order. */
  get labelNames(): readonly string[] {
    return this.#labelNames;
  }

  /** Series in creation order. */
  [Symbol.iterator](): IterableIterator<Series<C>> {
    return this.#series.values();
  }

  // The slow path, taken by any label set the index does not hold as given:
  // a new one, one past the limits, or one whose values need rewriting.
  #miss(labels: Labels<string>): C {
    const given = this.#checked(labels);
    const values = this.#stored(given);
    if (values === undefined) return this.#fold(OVERFLOW_REASON.valueLength);
    if (values !== given) {
      const found = this.#find(values);
      if (found !== undefined) return found.child;
    }
    const real = this.#series.size - (this.#overflow === undefined ? 0 : 1);
    if (real >= this.#context.cardinalityLimit) {
      return this.#fold(OVERFLOW_REASON.cardinality);
    }
    return this.#add(values).child;
  }

  /**
   * The label values as stored: lone surrogates become U+FFFD, as any UTF-8
   * encoder would write them, so `"\uD800"` and `"\uFFFD"` are one series
   * rather than two identical lines. Returns `values` itself when nothing
   * changes, and undefined when a value is longer than the limit (checked
   * first: the rewrite keeps the length, and a huge value is not worth
   * copying).
   */
  #stored(values: string[]): string[] | undefined {
    const max = this.#context.maxLabelValueLength;
    let stored = values;
    for (let i = 0; i < values.length; i++) {
      const value = values[i]!;
      if (value.length > max) return undefined;
      if (!value.isWellFormed()) {
        if (stored === values) stored = values.slice();
        stored[i] = value.toWellFormed();
      }
    }
    return stored;
  }

  /** The series of stored label values, if it exists. */
  #find(values: readonly string[]): Series<C> | undefined {
    let node: Node<C> = this.#root;
    for (let i = 0; i < values.length - 1; i++) {
      const next = node.get(values[i]!) as Node<C> | undefined;
      if (next === undefined) return undefined;
      node = next;
    }
    return node.get(values[values.length - 1]!) as Series<C> | undefined;
  }

  /** Answers a lookup with the overflow series, and reports it. */
  #fold(reason: OverflowReason): C {
    this.#context.overflow(this.#metric, reason);
    this.#overflow ??= this.#add(
      this.#labelNames.map(() => OVERFLOW_LABEL_VALUE),
      false,
    );
    return this.#overflow.child;
  }

  #add(values: readonly string[], index = true): Series<C> {
    const context = this.#context;
    const pairs = renderPairs(
      [...context.defaultLabelNames, ...this.#labelNames],
      [...context.defaultLabelValues, ...values],
    );
    const series: Series<C> = {
      child: this.#create(values, pairs),
      pairs,
      values,
    };
    this.#series.add(series);
    if (index && values.length > 0) {
      let node = this.#root;
      for (let i = 0; i < values.length - 1; i++) {
        let next = node.get(values[i]!) as Node<C> | undefined;
        if (next === undefined) {
          next = new Map();
          node.set(values[i]!, next);
        }
        node = next;
      }
      node.set(values[values.length - 1]!, series);
    }
    return series;
  }

  /** Validates a label set fully and returns its values in label order. */
  #checked(labels: unknown): string[] {
    const names = this.#labelNames;
    if (labels === null || typeof labels !== "object") {
      throw new TypeError(
        `Cannot select a series of "${this.#metric}": labels must be an object, got ${
          labels === null ? "null" : typeof labels
        }`,
      );
    }
    const record = labels as Record<string, unknown>;
    const unknown = Object.keys(record).filter((key) => !names.includes(key));
    if (unknown.length > 0) {
      throw new TypeError(
        `Cannot select a series of "${this.#metric}": unknown label ${
          unknown.map((key) => `"${key}"`).join(", ")
        }: the metric has ${describe(names)}`,
      );
    }
    return names.map((name) => {
      const value = record[name];
      if (value === undefined) {
        throw new TypeError(
          `Cannot select a series of "${this.#metric}": missing label "${name}": the metric has ${
            describe(names)
          }`,
        );
      }
      return labelKey(value, this.#metric, name);
    });
  }

  #lookupFailed(labels: unknown): never {
    if (this.#labelNames.length === 0) {
      throw new TypeError(
        `Cannot select a series of "${this.#metric}": the metric has no labels; call its methods directly`,
      );
    }
    this.#checked(labels);
    throw new TypeError(
      `Cannot select a series of "${this.#metric}": inherited label keys are not allowed`,
    );
  }
}

function describe(names: readonly string[]): string {
  return names.length === 0
    ? "no labels"
    : `labels ${names.map((name) => `"${name}"`).join(", ")}`;
}

function fastKey(value: unknown): string | undefined {
  return typeof value === "string"
    ? value
    : typeof value === "number"
    ? String(value)
    : undefined;
}

function labelKey(value: unknown, metric: string, label: string): string {
  const key = fastKey(value);
  if (key !== undefined) return key;
  throw new TypeError(
    `Cannot select a series of "${metric}": label "${label}" must be a string or a number, got ${
      value === null ? "null" : typeof value
    }`,
  );
}

/** Throws the error of a label-less call on a metric that has labels. */
export function labelsRequired(
  kind: string,
  metric: string,
  labelNames: readonly string[],
): never {
  throw new TypeError(
    `Cannot use ${kind} "${metric}" without labels: it has ${
      describe(labelNames)
    }; call labels() first`,
  );
}
