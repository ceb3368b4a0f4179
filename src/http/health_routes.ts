// The health, probe and info endpoints of the Vigil server.
import type { Health, HealthReport, HealthStatus } from "../health/health.ts";
import type { SystemMonitor } from "../health/system.ts";
import type { Registry } from "../metrics/registry.ts";
import type { HttpMetrics } from "./instrument.ts";
import { type Handler, json } from "./handlers.ts";
import { VERSION } from "../base/version.ts";

/** Who the service is, as health bodies report it. */
export interface ServiceInfo {
  /** The service name. */
  readonly name: string;
  /** The service's version. */
  readonly version: string;
  /** The deployment environment, such as "production". */
  readonly environment: string;
}

/** What the health routes read. */
export interface HealthRoutesOptions {
  readonly registry: Registry;
  readonly health: Health;
  readonly service: ServiceInfo;
  readonly system: SystemMonitor;
  readonly http: HttpMetrics | undefined;
  /** The configuration for `/system/info`, secrets already masked. */
  readonly config: (() => unknown) | undefined;
}

const IETF_STATUS: Readonly<Record<HealthStatus, string>> = {
  healthy: "pass",
  degraded: "warn",
  unhealthy: "fail",
};

const HEALTH_JSON = "application/health+json";

function statusCode(report: HealthReport): number {
  return report.status === "unhealthy" ? 503 : 200;
}

function uptime(): number {
  return Math.round(performance.now()) / 1000;
}

/** The handlers of `/health`, `/health/detailed`, `/health/live`, `/health/ready` and `/system/info`. */
export function healthRoutes(
  options: HealthRoutesOptions,
): Record<string, Handler> {
  const { registry, health, service, system, http, config } = options;
  let live: { at: number; body: unknown; status: number } = {
    at: -Infinity,
    body: null,
    status: 200,
  };
  return {
    "/health": () => {
      const report = health.report();
      return json({
        status: report.status,
        version: service.version,
        timestamp: new Date().toISOString(),
        uptime: uptime(),
      }, statusCode(report));
    },

    "/health/detailed": async (request) => {
      const report = health.report();
      if ((request.headers.get("accept") ?? "").includes(HEALTH_JSON)) {
        return ietfReport(report, service);
      }
      return json({
        status: report.status,
        ready: report.ready,
        service,
        version: service.version,
        timestamp: new Date().toISOString(),
        uptime: uptime(),
        components: report.components,
        system: system.figures(),
        performance: await latency(http),
      }, statusCode(report));
    },

    // Liveness never looks at dependencies: only at this process and its
    // workers, so a slow database cannot get a healthy pod restarted. The
    // answer is reused for 100 ms: probes may come often and cost nothing.
    "/health/live": () => {
      const now = performance.now();
      if (now - live.at > 100) live = { at: now, ...liveAnswer(registry) };
      return json(live.body, live.status);
    },

    "/health/ready": () => {
      const report = health.report();
      return json({
        status: report.ready ? "ready" : "not ready",
        health: report.status,
        pending: report.components.filter((c) => c.status === "pending")
          .map((c) => c.name),
        failing: report.components.filter((c) =>
          c.critical && c.status === "fail"
        ).map((c) => c.name),
      }, report.ready ? 200 : 503);
    },

    "/system/info": () =>
      json({
        vigil: VERSION,
        service,
        runtime: {
          deno: Deno.version.deno,
          v8: Deno.version.v8,
          typescript: Deno.version.typescript,
          os: Deno.build.os,
          arch: Deno.build.arch,
        },
        pid: Deno.pid,
        uptime: uptime(),
        workers: registry.workers(),
        config: config?.() ?? null,
      }, 200),
  };
}

/** The liveness body and status: fail when a worker stopped answering. */
function liveAnswer(registry: Registry): { body: unknown; status: number } {
  const workers = registry.workers();
  const stuck = workers.filter((worker) =>
    !worker.inThread && worker.connected && !worker.responsive
  );
  return {
    body: {
      status: stuck.length === 0 ? "pass" : "fail",
      workers: workers.length,
      unresponsiveWorkers: stuck.map((worker) => worker.index),
    },
    status: stuck.length === 0 ? 200 : 503,
  };
}

/** The IETF health-check draft's format: pass, warn, fail, and `checks`. */
function ietfReport(report: HealthReport, service: ServiceInfo): Response {
  const checks: Record<string, unknown[]> = {};
  for (const component of report.components) {
    const key = `${component.name}:${component.measurement}`;
    checks[key] = [{
      componentType: component.componentType,
      ...(component.observedValue === undefined
        ? {}
        : { observedValue: component.observedValue }),
      ...(component.observedUnit === undefined
        ? {}
        : { observedUnit: component.observedUnit }),
      status: component.status === "pending" ? "warn" : component.status,
      ...(component.lastCheck === null ? {} : { time: component.lastCheck }),
      ...(component.output === undefined ? {} : { output: component.output }),
    }];
  }
  return new Response(
    JSON.stringify({
      status: IETF_STATUS[report.status],
      version: service.version,
      releaseId: service.version,
      serviceId: service.name,
      description: `${service.name} (${service.environment})`,
      checks,
    }),
    {
      status: statusCode(report),
      headers: { "content-type": HEALTH_JSON },
    },
  );
}

/** Request-latency percentiles per route, from the HDR histograms. */
async function latency(http: HttpMetrics | undefined): Promise<unknown[]> {
  if (http === undefined) return [];
  const series = await http.duration.snapshots();
  return series.map(({ labels, snapshot }) => ({
    method: labels.method,
    route: labels.route,
    count: snapshot.count,
    p50Ms: microseconds(snapshot.p50),
    p95Ms: microseconds(snapshot.p95),
    p99Ms: microseconds(snapshot.p99),
  }));
}

/** Seconds as milliseconds to the microsecond: finer is noise. */
function microseconds(seconds: number): number {
  return Math.round(seconds * 1e6) / 1000;
}
