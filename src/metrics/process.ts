import process from "node:process";
import type { Registry } from "./registry.ts";
import { VERSION } from "../base/version.ts";
import { memorySampler } from "./_memory.ts";

/** Options of {@linkcode registerProcessMetrics}. */
export interface ProcessMetricsOptions {
  /**
   * Where open file descriptors are listed; the gauge is left out when the
   * directory cannot be read: not Linux, or not running with `--allow-all`,
   * which Deno requires for any read under `/proc/self`.
   * @default {"/proc/self/fd"}
   */
  fdDirectory?: string;
}

/**
 * Registers the standard process metrics, read at each scrape:
 * `process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `process_heap_bytes` (V8's heap), `process_open_fds` (where `/proc`
 * exists and the process has `--allow-all`), `process_start_time_seconds`, and
 * `vigil_build_info{version,deno}`.
 *
 * @param registry The registry to add them to.
 * @param options Where to count file descriptors.
 *
 * @example Expose process metrics
 * ```ts
 * import { Registry, registerProcessMetrics } from "@vigil/observe/metrics";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * registerProcessMetrics(registry);
 * assert.match(await registry.metrics(), /^process_resident_memory_bytes \d+$/m);
 * ```
 */
export function registerProcessMetrics(
  registry: Registry,
  options: ProcessMetricsOptions = {},
): void {
  let lastCpu = 0;
  registry.counter({
    name: "process_cpu_seconds_total",
    help: "Total user and system CPU time spent in seconds",
    collect: (counter) => {
      const { user, system } = process.cpuUsage();
      const seconds = (user + system) / 1e6;
      if (seconds > lastCpu) counter.inc(seconds - lastCpu);
      lastCpu = Math.max(lastCpu, seconds);
    },
  });
  const memory = memorySampler();
  registry.gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes",
    collect: (gauge) => gauge.set(memory().rss),
  });
  registry.gauge({
    name: "process_heap_bytes",
    help: "Size of the V8 heap in bytes",
    collect: (gauge) => gauge.set(memory().heapTotal),
  });
  const fdDirectory = options.fdDirectory ?? "/proc/self/fd";
  if (countEntries(fdDirectory) !== undefined) {
    registry.gauge({
      name: "process_open_fds",
      help: "Number of open file descriptors",
      collect: (gauge) => {
        const count = countEntries(fdDirectory);
        if (count !== undefined) gauge.set(count);
      },
    });
  }
  registry.gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since the Unix epoch in seconds",
  }).set(performance.timeOrigin / 1000);
  registry.gauge({
    name: "vigil_build_info",
    help: "Vigil and Deno versions; the value is always 1",
    labelNames: ["version", "deno"],
  }).labels({ version: VERSION, deno: Deno.version.deno }).set(1);
}

function countEntries(directory: string): number | undefined {
  const state = Deno.permissions.querySync({ name: "read", path: directory });
  if (state.state !== "granted") return undefined;
  try {
    let count = 0;
    for (const _ of Deno.readDirSync(directory)) count++;
    return count;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof Deno.errors.PermissionDenied) return undefined;
    // Deno guards /proc/self behind --allow-all whatever --allow-read says.
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
}
