/**
 * Domain kits: the metrics, helpers, dashboard rows and alert rules every
 * service writes by hand, one line of setup each. A kit's series carry its
 * component's name (`cache`, `pool`, `provider`, `dataset`, `queue`,
 * `source` or `component` label); a second kit of the same kind shares the
 * families of the first. `generateDashboards()` and `generateAlertRules()`
 * add each kit's row and alerts when its metrics are registered.
 *
 * @example A cache
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { cacheMetrics } from "@vigil/observe/kits";
 *
 * const registry = new Registry();
 * const sessions = cacheMetrics(registry, { name: "sessions" });
 * sessions.miss();
 * await registry.close();
 * ```
 *
 * @module
 */
import { cacheKit } from "./cache.ts";
import type { Kit } from "./spec.ts";

export {
  cacheKit,
  type CacheKitOptions,
  type CacheMetrics,
  cacheMetrics,
  type CacheMetricsOptions,
} from "./cache.ts";
export type {
  Kit,
  KitAlert,
  KitFormat,
  KitPanel,
  KitQuery,
  KitRecording,
  KitSeries,
} from "./spec.ts";

/**
 * Every kit with its default thresholds, in the order the generators show
 * them.
 *
 * @returns The kits.
 *
 * @example The kinds
 * ```ts
 * import { kits } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * assert.ok(kits().some((kit) => kit.kind === "cache"));
 * ```
 */
export function kits(): Kit[] {
  return [cacheKit()];
}
