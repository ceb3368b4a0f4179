import { type Handler, json, liveHandler, metricsHandler } from "./handlers.ts";
import type { Registry } from "../metrics/registry.ts";
import type { Logger } from "../logging/logger.ts";

/** The default port: the one OpenTelemetry's Prometheus exporter registered. */
export const DEFAULT_PORT = 9464;

/** Options of {@linkcode createHandler}. */
export interface HandlerOptions {
  /** The registry `/metrics` renders. */
  registry: Registry;
  /**
   * Where request failures are logged.
   * @default {nothing is logged}
   */
  logger?: Logger;
}

/** Options of {@linkcode serve}. */
export interface ServeOptions extends HandlerOptions {
  /**
   * The TCP port; 0 picks a free one (read it from {@linkcode VigilServer.addr}).
   * @default {9464}
   */
  port?: number;
  /**
   * The interface to listen on; `0.0.0.0` in a container.
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * Called once the server listens.
   * @default {nothing is called}
   */
  onListen?: (addr: Deno.NetAddr) => void;
}

/** A running Vigil server. */
export interface VigilServer {
  /** The address it listens on. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops accepting connections and resolves once in-flight requests finish. */
  shutdown(): Promise<void>;
}

/**
 * The routes of the Vigil server as one handler: `GET /metrics` and
 * `GET /health/live` (`HEAD` too); other methods get 405, other paths 404.
 *
 * @param options The registry and logger.
 * @returns The handler.
 *
 * @example Route a request without a server
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { createHandler } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * const handler = createHandler({ registry: new Registry() });
 * const response = await handler(new Request("http://localhost/nope"));
 * assert.equal(response.status, 404);
 * await response.body?.cancel();
 * ```
 */
export function createHandler(options: HandlerOptions): Handler {
  const logger = options.logger;
  const routes = new Map<string, Handler>([
    ["/metrics", metricsHandler(options.registry, logger ? { logger } : {})],
    ["/health/live", liveHandler()],
  ]);
  return (request) => {
    const path = new URL(request.url).pathname;
    const route = routes.get(path);
    if (route === undefined) return json({ error: "Not found" }, 404);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return json({ error: "Method not allowed" }, 405, {
        allow: "GET, HEAD",
      });
    }
    return route(request);
  };
}

/**
 * Starts the Vigil server with `Deno.serve`.
 *
 * @param options The registry, address and listen callback.
 * @returns The running server; call `shutdown()` to stop it.
 *
 * @example Serve on a free port and scrape it
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { serve } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const server = serve({ registry, port: 0 });
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/health/live`);
 * assert.equal(response.status, 200);
 * await response.body?.cancel();
 * await server.shutdown();
 * await registry.close();
 * ```
 */
export function serve(options: ServeOptions): VigilServer {
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot serve: port must be an integer from 0 to 65535, got ${port}`,
    );
  }
  const onListen = options.onListen;
  const server = Deno.serve({
    port,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: (addr) => onListen?.(addr as Deno.NetAddr),
  }, createHandler(options));
  return {
    addr: server.addr,
    finished: server.finished,
    shutdown: () => server.shutdown(),
  };
}
