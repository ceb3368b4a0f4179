import type { Registry } from "./registry.ts";
import { memorySampler } from "./_memory.ts";

/** Options of {@linkcode registerRuntimeMetrics}. */
export interface RuntimeMetricsOptions {
  /**
   * How often the event-loop lag is sampled, in milliseconds.
   * @default {100}
   */
  intervalMs?: number;
  /**
   * Samples the current lag figure ({@linkcode RuntimeMonitor.lagMs}) is
   * taken over.
   * @default {100}
   */
  window?: number;
}

/** What {@linkcode registerRuntimeMetrics} keeps running. */
export interface RuntimeMonitor {
  /** The 99th percentile of the event-loop lag over the recent window, in ms. */
  lagMs(): number;
  /** Stops sampling. Idempotent. */
  stop(): void;
}

/** Buckets for event-loop lag, in seconds: 1 ms to 5 s. */
const LAG_BUCKETS = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
];

/**
 * Registers Deno runtime metrics: `deno_event_loop_lag_seconds` (a
 * histogram fed by a timer that measures how late it fires; Deno exposes no
 * such figure), `deno_heap_used_bytes`, `deno_external_memory_bytes` and
 * `process_uptime_seconds`. Add {@linkcode registerProcessMetrics} for CPU,
 * RSS, heap size, file descriptors and build info.
 *
 * The sampling timer does not keep the process alive; call `stop()` before
 * closing the registry.
 *
 * @param registry The registry to add the metrics to.
 * @param options Sampling interval and window.
 * @returns The monitor: the current lag, and `stop()`.
 *
 * @example Watch the event loop
 * ```ts
 * import { Registry, registerRuntimeMetrics } from "@vigil/observe/metrics";
 *
 * const registry = new Registry();
 * const runtime = registerRuntimeMetrics(registry, { intervalMs: 50 });
 * await new Promise((resolve) => setTimeout(resolve, 120));
 * console.log(`event-loop lag p99: ${runtime.lagMs()} ms`);
 * runtime.stop();
 * await registry.close();
 * ```
 */
export function registerRuntimeMetrics(
  registry: Registry,
  options: RuntimeMetricsOptions = {},
): RuntimeMonitor {
  const intervalMs = options.intervalMs ?? 100;
  const window = options.window ?? 100;
  if (!(Number.isFinite(intervalMs) && intervalMs >= 1)) {
    throw new RangeError(
      `Cannot register runtime metrics: intervalMs must be at least 1, got ${intervalMs}`,
    );
  }
  if (!(Number.isInteger(window) && window >= 1)) {
    throw new RangeError(
      `Cannot register runtime metrics: window must be a positive integer, got ${window}`,
    );
  }
  const lag = registry.histogram({
    name: "deno_event_loop_lag_seconds",
    help:
      "How late a timer fired, sampled at a fixed interval: the event loop's responsiveness",
    buckets: LAG_BUCKETS,
  });
  const memory = memorySampler();
  registry.gauge({
    name: "deno_heap_used_bytes",
    help: "V8 heap in use, in bytes",
    collect: (gauge) => gauge.set(memory().heapUsed),
  });
  registry.gauge({
    name: "deno_external_memory_bytes",
    help: "Memory of objects outside the V8 heap (buffers), in bytes",
    collect: (gauge) => gauge.set(memory().external),
  });
  registry.gauge({
    name: "process_uptime_seconds",
    help: "Seconds since the process started",
    collect: (gauge) => gauge.set(performance.now() / 1000),
  });

  const recent = new Float64Array(window);
  let samples = 0;
  let expected = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = Math.max(0, now - expected);
    expected = now + intervalMs;
    recent[samples % window] = late;
    samples++;
    lag.observe(late / 1000);
  }, intervalMs);
  Deno.unrefTimer(timer);

  return {
    lagMs: () => {
      const filled = recent.slice(0, Math.min(samples, window)).sort();
      return filled.length === 0
        ? 0
        : filled[Math.ceil(filled.length * 0.99) - 1]!;
    },
    stop: () => clearInterval(timer),
  };
}
