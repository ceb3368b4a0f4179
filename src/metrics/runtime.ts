import { GCProfiler } from "node:v8";
import type { Registry } from "./registry.ts";
import type { DistributionChild } from "./distribution.ts";
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

/** Buckets for garbage-collection pauses, in seconds: 0.1 ms to 1 s. */
const GC_BUCKETS = [
  0.0001,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  1,
];

/**
 * The `kind` label of each V8 collection type as `node:v8`'s `GCProfiler`
 * names it: the kinds Node.js's `perf_hooks` and prom-client use, so their
 * dashboards read these series too. Any other type is `"other"`.
 */
const GC_KINDS: Readonly<Record<string, string>> = {
  Scavenge: "minor",
  MinorMarkSweep: "minor",
  MarkSweepCompact: "major",
  IncrementalMarking: "incremental",
  ProcessWeakCallbacks: "weakcb",
};

/** `GCProfiler` reports a pause's `cost` in nanoseconds in Deno 2.9. */
const GC_COST_PER_SECOND = 1e9;

/**
 * Registers Deno runtime metrics: `deno_event_loop_lag_seconds` (a
 * histogram fed by a timer that measures how late it fires; Deno exposes no
 * such figure), `deno_gc_duration_seconds{kind}` (the main thread's
 * garbage-collection pauses), `deno_heap_used_bytes`,
 * `deno_external_memory_bytes` and `process_uptime_seconds`. Add
 * {@linkcode registerProcessMetrics} for CPU, RSS, heap size, file
 * descriptors and build info.
 *
 * GC pauses come from `node:v8`'s `GCProfiler`, the one source Deno 2.9
 * offers: `PerformanceObserver` from `node:perf_hooks` accepts
 * `entryTypes: ["gc"]` but never delivers an entry. The timer drains the
 * profiler each interval, so a pause shows up within `intervalMs`; `kind`
 * is `minor` (scavenges), `major` (mark-compact), `incremental` (incremental
 * marking steps) or `weakcb` (weak callbacks), as in Node.js.
 *
 * The sampling timer does not keep the process alive; call `stop()` before
 * closing the registry.
 *
 * @param registry The registry to add the metrics to.
 * @param options Sampling interval and window.
 * @returns The monitor: the current lag, and `stop()`.
 *
 * @example Watch the event loop and the garbage collector
 * ```ts
 * import { Registry, registerRuntimeMetrics } from "@vigil/observe/metrics";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const runtime = registerRuntimeMetrics(registry, { intervalMs: 50 });
 * await new Promise((resolve) => setTimeout(resolve, 120));
 * assert.ok(runtime.lagMs() >= 0);
 * const text = await registry.metrics();
 * assert.match(text, /^# TYPE deno_event_loop_lag_seconds histogram$/m);
 * assert.match(text, /^# TYPE deno_gc_duration_seconds histogram$/m);
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
  const gc = registry.histogram({
    name: "deno_gc_duration_seconds",
    help:
      "Garbage-collection pauses of the main thread, by kind: minor, major, incremental or weakcb",
    labelNames: ["kind"],
    buckets: GC_BUCKETS,
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

  const profiler = new GCProfiler();
  const kinds = new Map<string, DistributionChild>();
  const drainGc = () => {
    // Restarted at once: a pause inside these two calls is all that is lost.
    const { statistics } = profiler.stop();
    profiler.start();
    for (const { gcType, cost } of statistics) {
      if (!(Number.isFinite(cost) && cost >= 0)) continue;
      const kind = GC_KINDS[gcType] ?? "other";
      let child = kinds.get(kind);
      if (child === undefined) {
        child = gc.labels({ kind });
        kinds.set(kind, child);
      }
      child.observe(cost / GC_COST_PER_SECOND);
    }
  };
  profiler.start();

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
    drainGc();
  }, intervalMs);
  Deno.unrefTimer(timer);
  let stopped = false;

  return {
    lagMs: () => {
      const filled = recent.slice(0, Math.min(samples, window)).sort();
      return filled.length === 0
        ? 0
        : filled[Math.ceil(filled.length * 0.99) - 1]!;
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      drainGc();
      profiler.stop();
    },
  };
}
