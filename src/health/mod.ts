/**
 * Health checks for Kubernetes probes and detailed health bodies: a
 * {@linkcode Health} registry runs each check in the background, on its own
 * interval and with its own timeout, and {@linkcode Health.report} reads the
 * last results synchronously, so a probe never waits for a dependency.
 * Built-in checks cover HTTP and TCP dependencies, disk, memory, event-loop
 * lag and the aggregation workers; {@linkcode SystemMonitor} reads CPU,
 * memory, disk and load figures.
 *
 * Statuses follow the IETF health-check draft: each check passes, warns or
 * fails; the service is `healthy` when all pass, `degraded` when one warns
 * or a non-critical one fails, and `unhealthy` when a critical one fails.
 *
 * @example Check dependencies in the background
 * ```ts
 * import { Health, httpCheck, memoryCheck } from "@vigil/observe/health";
 * import assert from "node:assert/strict";
 *
 * const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
 * const health = new Health();
 * health.register("upstream", httpCheck(`http://127.0.0.1:${upstream.addr.port}/`), {
 *   componentType: "component",
 *   measurement: "responseTime",
 *   timeoutMs: 2000,
 *   intervalMs: 10_000,
 * });
 * health.register("memory", memoryCheck(), { critical: false, componentType: "system" });
 * try {
 *   await health.runAll(); // a first readiness
 *   health.start(); // then every intervalMs
 *   const report = health.report(); // what /health/ready serves
 *   assert.equal(report.status, "healthy");
 *   assert.equal(report.ready, true);
 * } finally {
 *   health.markShuttingDown();
 *   await health.stop();
 *   await upstream.shutdown();
 * }
 * ```
 *
 * @module
 */
export {
  type CheckOptions,
  type CheckResult,
  CheckStatus,
  type ComponentReport,
  Health,
  type HealthCheck,
  type HealthOptions,
  type HealthReport,
  HealthStatus,
} from "./health.ts";
export {
  diskCheck,
  type DiskCheckOptions,
  eventLoopLagCheck,
  type EventLoopLagCheckOptions,
  httpCheck,
  type HttpCheckOptions,
  memoryCheck,
  type MemoryCheckOptions,
  tcpCheck,
  workersCheck,
  type WorkerSource,
} from "./checks.ts";
export {
  type SystemFigures,
  SystemMonitor,
  type SystemMonitorOptions,
} from "./system.ts";
export { BUILT_IN_CHECK_DEFAULTS, CHECK_DEFAULTS } from "./defaults.ts";
export { registerHealthMetrics } from "./metrics.ts";
export type { WorkerStatus } from "../aggregation/types.ts";
export type { LogFields, Logger } from "../base/log.ts";
