/**
 * The Vigil HTTP server and its handlers: `/metrics` in the negotiated
 * format and the Kubernetes liveness probe.
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
  liveHandler,
  metricsHandler,
  type MetricsHandlerOptions,
} from "./handlers.ts";
