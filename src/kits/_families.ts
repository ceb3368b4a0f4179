// A kit's families, created once per registry: a second kit of the same
// kind (another cache, another queue) shares them, as a second
// `cacheMetrics()` call must.
import { Counter } from "../metrics/counter.ts";
import { Gauge } from "../metrics/gauge.ts";
import { Histogram } from "../metrics/histogram.ts";
import type { Registry } from "../metrics/registry.ts";

interface Spec<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
}

/** The existing metric of `spec.name` when it is a `type` with the same labels. */
function existing(
  registry: Registry,
  spec: Spec<string>,
  type: typeof Counter | typeof Gauge | typeof Histogram,
  kind: string,
): unknown {
  const found = registry.getMetric(spec.name);
  if (found === undefined) return undefined;
  if (
    !(found instanceof type) ||
    found.labelNames.join(",") !== spec.labelNames.join(",")
  ) {
    throw new TypeError(
      `Cannot share metric "${spec.name}": the registry holds it as another metric than this kit's ${kind} with labels ${
        spec.labelNames.join(", ")
      }`,
    );
  }
  return found;
}

/** The kit's counter: the registry's when it has it, else a new one. */
export function sharedCounter<const L extends string>(
  registry: Registry,
  spec: Spec<L>,
): Counter<L> {
  return existing(registry, spec, Counter, "counter") as
    | Counter<L>
    | undefined ??
    registry.counter(spec);
}

/** The kit's gauge: the registry's when it has it, else a new one. */
export function sharedGauge<const L extends string>(
  registry: Registry,
  spec: Spec<L>,
): Gauge<L> {
  return existing(registry, spec, Gauge, "gauge") as Gauge<L> | undefined ??
    registry.gauge(spec);
}

/** The kit's histogram: the registry's when it has it, else a new one. */
export function sharedHistogram<const L extends string>(
  registry: Registry,
  spec: Spec<L> & { readonly buckets?: readonly number[] },
): Histogram<L> {
  return existing(registry, spec, Histogram, "histogram") as
    | Histogram<L>
    | undefined ??
    registry.histogram(spec);
}

/** Checks a kit's component name: a non-empty label value. */
export function componentName(kit: string, name: unknown): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw new TypeError(
      `Cannot create the ${kit} kit: name must be a non-empty string, got ${
        JSON.stringify(name)
      }`,
    );
  }
  return name;
}
