// The logging pipeline's own losses, as metrics.
import type { Registry } from "../metrics/registry.ts";
import type { LoggingHandle } from "./configure.ts";

/**
 * Registers `vigil_log_lines_dropped_total{sink}` (lines a full queue or a
 * failed write lost) and `vigil_log_sink_errors_total{sink}` (writes that
 * failed), read from the handle at each scrape.
 *
 * @param registry Where to register them.
 * @param logging What {@linkcode configureLogging} returned.
 *
 * @example Expose the logging pipeline's losses
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { configureLogging, registerLoggingMetrics } from "@vigil/observe/logging";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const logging = await configureLogging({ stdout: true });
 * registerLoggingMetrics(registry, logging);
 * assert.match(await registry.metrics(), /^vigil_log_lines_dropped_total\{sink="stdout"\} 0$/m);
 * await logging.close();
 * ```
 */
export function registerLoggingMetrics(
  registry: Registry,
  logging: LoggingHandle,
): void {
  const counted = new Map<string, { dropped: number; errors: number }>();
  const seen = (sink: string) => {
    let last = counted.get(sink);
    if (last === undefined) counted.set(sink, last = { dropped: 0, errors: 0 });
    return last;
  };
  registry.counter({
    name: "vigil_log_lines_dropped_total",
    help:
      "Log lines dropped by a sink: its queue was full, or their write failed",
    labelNames: ["sink"],
    collect: (counter) => {
      for (const { sink, dropped } of logging.stats()) {
        const last = seen(sink);
        counter.labels({ sink }).inc(dropped - last.dropped);
        last.dropped = dropped;
      }
    },
  });
  registry.counter({
    name: "vigil_log_sink_errors_total",
    help: "Writes of a log sink that failed (disk full, directory removed)",
    labelNames: ["sink"],
    collect: (counter) => {
      for (const { sink, errors } of logging.stats()) {
        const last = seen(sink);
        counter.labels({ sink }).inc(errors - last.errors);
        last.errors = errors;
      }
    },
  });
}
