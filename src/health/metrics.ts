import type { Registry } from "../metrics/registry.ts";
import { CheckStatus, type Health, HealthStatus } from "./health.ts";

const CHECK_STATUSES: readonly (CheckStatus | "pending")[] = [
  ...Object.values(CheckStatus),
  "pending",
];
const SERVICE_STATUSES: readonly HealthStatus[] = Object.values(HealthStatus);

/**
 * Exposes what `/health/detailed` shows as metrics, read from the last
 * results at each scrape (nothing runs a check):
 *
 * - `vigil_health_check_status{check,status}`: 1 for the current status of
 *   each check (`pass`, `warn`, `fail` or `pending`), 0 for the others, so
 *   `vigil_health_check_status{status="fail"} == 1` selects failing checks;
 * - `vigil_health_check_duration_seconds{check}`: how long its last run
 *   took (no series before the first run ends);
 * - `vigil_health_status{status}`: 1 for the service's status (`healthy`,
 *   `degraded`, `unhealthy`), 0 for the others;
 * - `vigil_health_ready`: 1 while the service is ready for traffic.
 *
 * @param registry Where the metrics are registered.
 * @param health The checks they report.
 * @throws {DuplicateMetricError} When the registry has them already.
 *
 * @example Alert on what the probes see
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { Health, registerHealthMetrics } from "@vigil/observe/health";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const health = new Health();
 * health.register("db", () => ({ status: "fail", output: "refused" }));
 * registerHealthMetrics(registry, health);
 * await health.runAll();
 * const text = await registry.metrics();
 * assert.match(text, /^vigil_health_check_status\{check="db",status="fail"\} 1$/m);
 * assert.match(text, /^vigil_health_status\{status="unhealthy"\} 1$/m);
 * assert.match(text, /^vigil_health_ready 0$/m);
 * await registry.close();
 * ```
 */
export function registerHealthMetrics(
  registry: Registry,
  health: Health,
): void {
  registry.gauge({
    name: "vigil_health_check_status",
    help:
      "1 for the current status of each health check (pass, warn, fail, pending), 0 for the others",
    labelNames: ["check", "status"],
    collect: (gauge) => {
      for (const component of health.report().components) {
        for (const status of CHECK_STATUSES) {
          gauge.labels({ check: component.name, status }).set(
            component.status === status ? 1 : 0,
          );
        }
      }
    },
  });
  registry.gauge({
    name: "vigil_health_check_duration_seconds",
    help: "How long the last run of each health check took, in seconds",
    labelNames: ["check"],
    collect: (gauge) => {
      for (const { name, durationMs } of health.report().components) {
        if (durationMs !== null) {
          gauge.labels({ check: name }).set(durationMs / 1000);
        }
      }
    },
  });
  registry.gauge({
    name: "vigil_health_status",
    help:
      "1 for the service's health status (healthy, degraded, unhealthy), 0 for the others",
    labelNames: ["status"],
    collect: (gauge) => {
      const current = health.report().status;
      for (const status of SERVICE_STATUSES) {
        gauge.labels({ status }).set(current === status ? 1 : 0);
      }
    },
  });
  registry.gauge({
    name: "vigil_health_ready",
    help: "1 while the service is ready for traffic, 0 otherwise",
    collect: (gauge) => gauge.set(health.report().ready ? 1 : 0),
  });
}
