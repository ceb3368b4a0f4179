/**
 * Thrown when a metric is registered under a name, or with a sample name,
 * that a metric of the same registry already uses.
 *
 * @example Catch a duplicate registration
 * ```ts
 * import { DuplicateMetricError, Registry } from "@vigil/observe/metrics";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * registry.counter({ name: "jobs_total", help: "Jobs" });
 * assert.throws(
 *   () => registry.gauge({ name: "jobs_total", help: "Jobs" }),
 *   DuplicateMetricError,
 * );
 * ```
 */
export class DuplicateMetricError extends Error {
  /** The name that was registered twice. */
  readonly metric: string;

  /**
   * Creates the error.
   *
   * @param metric The name that was registered twice.
   * @param message What clashed with what.
   */
  constructor(metric: string, message: string) {
    super(message);
    this.name = "DuplicateMetricError";
    this.metric = metric;
  }
}
