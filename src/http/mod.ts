/**
 * The Vigil HTTP server and its handlers: `/metrics` in the negotiated
 * format, the health and Kubernetes probe endpoints, the drift API
 * (`/drift/status`, `/drift/update`, `/drift/reset`), and `instrument()`,
 * the middleware that measures any `Deno.serve` handler.
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
  type AccessLogOption,
  type HttpMetrics,
  httpMetrics,
  instrument,
  type InstrumentedHandler,
  type InstrumentOptions,
  type RequestContext,
  UNMATCHED_ROUTE,
} from "./instrument.ts";
export { type AuthConfig, authorize } from "./auth.ts";
export {
  driftRoutes,
  type DriftRoutesOptions,
  isLoopback,
  type WriteAccess,
  writeAccess,
} from "./drift_routes.ts";
export { readBody, type ReadBodyOptions, RequestBodyError } from "./limits.ts";
export type { ServiceInfo } from "./health_routes.ts";
export {
  PROTECTED_ROUTES,
  type Route,
  ROUTE_TABLE,
  type RouteInfo,
  ROUTES,
  UNMEASURED_ROUTES,
  WRITE_ROUTES,
} from "../base/routes.ts";
export {
  type Fetch,
  type HttpClientMetrics,
  httpClientMetrics,
  instrumentFetch,
  type InstrumentFetchOptions,
  OTHER_HOST,
} from "./fetch.ts";
