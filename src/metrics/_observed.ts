// What histograms and summaries share: series placed on aggregation shards,
// and the family the registry renders from them. Internal.
import type { AggregationPool } from "../aggregation/pool.ts";
import type {
  AggregateKind,
  FamilyDefinition,
} from "../aggregation/protocol.ts";
import type { Shard } from "../aggregation/shard.ts";
import type { Family, RegistryContext } from "./_family.ts";
import { SeriesSet } from "./_series.ts";
import { renderHeader } from "../base/_text.ts";

/** The default of the `resolution` option: microseconds for seconds. */
export const DEFAULT_RESOLUTION = 1e-6;

/** A series' place: the shard that aggregates it, and its id there. */
export interface Placement {
  readonly shard: Shard;
  readonly id: number;
}

/** Checks the `resolution` option. */
export function validateResolution(
  metric: string,
  resolution: number | undefined,
): number {
  const value = resolution ?? DEFAULT_RESOLUTION;
  if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) {
    throw new RangeError(
      `Cannot register metric "${metric}": resolution must be a finite positive number, got ${value}`,
    );
  }
  return value;
}

/**
 * The series of one histogram or summary: each child is placed on a shard
 * when created and removed from it when forgotten.
 */
export function observedSeries<C>(
  pool: AggregationPool,
  definition: Omit<FamilyDefinition, "id">,
  labelNames: readonly string[],
  context: RegistryContext,
  create: (placement: Placement, pairs: string) => C,
  placementOf: (child: C) => Placement,
): { family: number; series: SeriesSet<C> } {
  const family = pool.defineFamily(definition);
  const series = new SeriesSet<C>(
    definition.name,
    labelNames,
    context,
    (_values, pairs) =>
      create(pool.defineSeries(family, pairs, context.now() / 1000), pairs),
    (child) => {
      const { shard, id } = placementOf(child);
      shard.removeSeries(id);
    },
  );
  return { family, series };
}

const encoder = new TextEncoder();

/** The sample names a histogram or summary family writes. */
export function observedSampleNames(
  kind: AggregateKind,
  name: string,
): readonly string[] {
  const totals = [`${name}_count`, `${name}_sum`, `${name}_created`];
  return kind === "histogram" ? [`${name}_bucket`, ...totals] : totals;
}

/** The registry's view of a histogram or summary family. */
export function observedFamily(
  pool: AggregationPool,
  family: number,
  definition: Omit<FamilyDefinition, "id">,
  help: string,
): Family {
  const { name, kind } = definition;
  return {
    name,
    type: kind,
    sampleNames: observedSampleNames(kind, name),
    aggregationId: family,
    render: async (format) =>
      renderHeader(name, kind, help, format) +
      await pool.render(family, format),
    renderChunks: async (format) => [
      encoder.encode(renderHeader(name, kind, help, format)),
      ...await pool.renderChunks(family, format),
    ],
  };
}
