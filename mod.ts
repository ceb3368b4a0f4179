/**
 * Vigil: Prometheus metrics, health probes and the server that exposes them,
 * for Deno services.
 *
 * One {@linkcode Registry} holds a service's metrics; {@linkcode serve}
 * exposes them at `/metrics` (Prometheus text 0.0.4, or OpenMetrics 1.0 when
 * the scraper asks for it) beside the `/health/live` probe.
 *
 * Subpaths load only what they need: `@vigil/observe/metrics`,
 * `@vigil/observe/server`, `@vigil/observe/config`, `@vigil/observe/health`,
 * `@vigil/observe/drift`, `@vigil/observe/logging`, `@vigil/observe/tracing`,
 * `@vigil/observe/errors`, `@vigil/observe/dashboards`,
 * `@vigil/observe/alerts`, `@vigil/observe/app`, `@vigil/observe/cli`,
 * `@vigil/observe/probe`.
 *
 * @example Quick start: a registry, a counter and /metrics
 * ```ts
 * import { Registry, serve } from "@vigil/observe";
 *
 * const registry = new Registry({ defaultLabels: { service: "api" } });
 * const requests = registry.counter({
 *   name: "http_requests_total",
 *   help: "Requests served",
 *   labelNames: ["method", "status"],
 * });
 * const ok = requests.labels({ method: "GET", status: "200" }); // bind once
 * ok.inc(); // a field update on the hot path
 *
 * const server = serve({ registry, port: 0 }); // 9464 by default
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/metrics`);
 * console.log(await response.text());
 * await server.shutdown();
 * await registry.close();
 * ```
 *
 * @module
 */
export * from "./src/metrics/mod.ts";
export * from "./src/http/mod.ts";
export * from "./src/logging/mod.ts";
export * from "./src/tracing/mod.ts";
export * from "./src/config/mod.ts";
export * from "./src/health/mod.ts";
export * from "./src/drift/mod.ts";
export * from "./src/errors/mod.ts";
export {
  type MissingPermission,
  missingPermissions,
  type StartOptions,
  StartupError,
  startVigil,
  type VigilApp,
} from "./src/app.ts";
export { VERSION } from "./src/base/version.ts";
