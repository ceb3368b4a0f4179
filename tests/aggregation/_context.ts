// What a registry gives the metrics these tests build on a bare pool.
import type { RegistryContext } from "../../src/metrics/_family.ts";
import type { Logger } from "../../src/base/log.ts";

/** What a registry gives its metrics, with limits no test here reaches. */
export function contextFor(logger: Logger): RegistryContext {
  return {
    defaultLabelNames: [],
    defaultLabelValues: [],
    cardinalityLimit: 100,
    maxLabelValueLength: 100,
    logger,
    now: Date.now,
    overflow: () => {},
    refused: () => {},
    collectFailed: () => {},
    watch: () => {
      throw new TypeError("Cannot watch a series: no registry here");
    },
  };
}
