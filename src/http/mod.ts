/**
 * The Vigil HTTP server and its handlers: `/metrics` in the negotiated
 * format, the health and Kubernetes probe endpoints, and `instrument()`, the
 * middleware that measures any `Deno.serve` handler.
 *
 * @example Serve a registry
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { serve } from "@vigil/observe/server";
 *
 * const registry = new Registry();
 * const server = serve({ registry, port: 0 });
 * await server.shutdown();
 * await registry.close();
 * ```
 *
 * @module
 */
export {
  createHandler,
  DEFAULT_PORT,
  type HandlerOptions,
  serve,
  type ServeOptions,
  type VigilServer,
} from "./server.ts";
export {
  type Handler,
  json,
  metricsHandler,
  type MetricsHandlerOptions,
} from "./handlers.ts";
export {
  type HttpMetrics,
  httpMetrics,
  instrument,
  type InstrumentedHandler,
  type InstrumentOptions,
  type RequestContext,
  UNMATCHED_ROUTE,
} from "./instrument.ts";
export { type AuthConfig, authorize } from "./auth.ts";
export { readBody, type ReadBodyOptions, RequestBodyError } from "./limits.ts";
export type { ServiceInfo } from "./health_routes.ts";
export {
  PROTECTED_ROUTES,
  type Route,
  ROUTE_TABLE,
  type RouteInfo,
  ROUTES,
  UNMEASURED_ROUTES,
} from "../base/routes.ts";
