import { type Handler, json, metricsHandler } from "./handlers.ts";
import { healthRoutes, type ServiceInfo } from "./health_routes.ts";
import {
  type HttpMetrics,
  instrument,
  type InstrumentOptions,
} from "./instrument.ts";
import { type AuthConfig, authorize } from "./auth.ts";
import { authorizeWrite, driftRoutes, writeAccess } from "./drift_routes.ts";
import {
  ROUTE_TABLE,
  type RouteInfo,
  ROUTES,
  UNMEASURED_ROUTES,
} from "../base/routes.ts";
import { Health } from "../health/health.ts";
import { SystemMonitor } from "../health/system.ts";
import type { Registry } from "../metrics/registry.ts";
import { createLogger, type Logger } from "../base/log.ts";

/**
 * Where pushes go: `/metrics/job/<job>{/<label>/<value>}`, or
 * `/metrics/job@base64/<job>...` for a job with a `/` (Python's and Go's
 * clients write it so).
 */
const PUSH_PREFIXES: readonly string[] = [
  "/metrics/job/",
  "/metrics/job@base64/",
];
const isPush = (path: string): boolean =>
  PUSH_PREFIXES.some((prefix) => path.startsWith(prefix));
/** The route label of pushes, whatever their job and labels. */
const PUSH_ROUTE = "/metrics/job/{job}";
const PUSH_METHODS: readonly string[] = ["PUT", "POST", "DELETE"];

/** The default port: the one OpenTelemetry's Prometheus exporter registered. */
export const DEFAULT_PORT = 9464;

/** Options of {@linkcode createHandler}. */
export interface HandlerOptions {
  /** The registry `/metrics` renders. */
  registry: Registry;
  /**
   * The health checks the health routes report.
   * @default {a Health without checks: always healthy and ready}
   */
  health?: Health;
  /**
   * Who the service is: yours, so set its version.
   * @default {{ name: "vigil", version: "unknown", environment: "development" }}
   */
  service?: ServiceInfo;
  /**
   * Extra paths serving existing routes: `{"/monitoring/metrics": "/metrics"}`.
   * @default {{}}
   */
  aliases?: Readonly<Record<string, string>>;
  /**
   * Credentials for `/metrics`, `/health/detailed`, `/system/info` and
   * `/drift/status`.
   * @default {{ type: "none" }}
   */
  auth?: AuthConfig;
  /**
   * The bearer token `POST /drift/update` and `POST /drift/reset` require
   * (401 without it); `""` for none, and then they are open only when
   * `hostname` is a loopback address (127.0.0.0/8, `::1`, `localhost`)
   * and refused with 403 otherwise.
   * @default {""}
   */
  writeToken?: string;
  /**
   * The Pushgateway-compatible API: `PUT`, `POST` and `DELETE` on
   * `/metrics/job/<job>{/<label>/<value>}` are handed the request and the
   * path after `/metrics/` (`PushGateway.handle` of `@vigil/observe/ingest`),
   * behind the same write token as the drift write routes.
   * @default {no push API: those paths answer 404}
   */
  push?: (request: Request, path: string) => Promise<Response>;
  /**
   * The access log of the measured routes (probes aside), as
   * `instrument()`'s option; needs `http`.
   * @default {false}
   */
  accessLog?: InstrumentOptions["accessLog"];
  /**
   * The address the handler is served on, which decides whether the drift
   * write routes are open without a `writeToken` (see `writeAccess()`).
   * @default {unknown: without a writeToken they are refused}
   */
  hostname?: string;
  /**
   * Requests declaring a larger body get 413 before any of it is read, and
   * a body read (`POST /drift/update`) stops at this size with a 413.
   * @default {1048576}
   */
  maxBodyBytes?: number;
  /**
   * A request body (`POST /drift/update`) must arrive within this many
   * milliseconds, else 408.
   * @default {10000}
   */
  requestTimeoutMs?: number;
  /**
   * HTTP metrics from `httpMetrics()`: the server records its own requests
   * there, and `/health/detailed` reports their latency percentiles.
   * @default {the server's requests are not measured}
   */
  http?: HttpMetrics;
  /**
   * The configuration shown by `/system/info`, secrets already masked.
   * @default {none shown}
   */
  config?: () => unknown;
  /**
   * Where request failures (a failed render, a thrown handler) are logged.
   * @default {Vigil's logger of category `vigil.http`, written where LogTape is configured}
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
   * The interface to listen on; `0.0.0.0` in a container. Without a
   * `writeToken`, the drift write routes answer 403 unless it is a
   * loopback address.
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
 * The routes of the Vigil server as one handler: `/metrics`, `/health`,
 * `/health/detailed`, `/health/live`, `/health/ready`, `/system/info` and
 * `/drift/status` (`GET` and `HEAD`), `/drift/update` and `/drift/reset`
 * (`POST`), plus the configured aliases. 405 for another method, 404
 * elsewhere, 413 for a body declared larger than `maxBodyBytes`, 401 on a
 * protected route without the configured credentials, and on a drift
 * write route without the write token, 403 there when no token is set and
 * `hostname` is not loopback. A `HEAD` gets the response of a `GET`, whose
 * body `Deno.serve` leaves out.
 *
 * The route comes from the request target, never from the `Host` header:
 * since `Deno.serve` builds `request.url` from that header, a `Host` holding
 * anything a host and port cannot (`/`, `?`, `#`, `@`, `\`, spaces,
 * non-ASCII) gets 400.
 *
 * @param options The registry, health checks and server settings.
 * @returns The handler.
 * @throws {TypeError} When an alias does not start with "/" or names no route.
 *
 * @example Route a request without a server
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { createHandler } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * const handler = createHandler({ registry: new Registry() });
 * const response = await handler(new Request("http://localhost/health/ready"));
 * assert.equal(response.status, 200);
 * await response.body?.cancel();
 * ```
 */
export function createHandler(options: HandlerOptions): Handler {
  const logger = options.logger ?? createLogger("http");
  const auth = options.auth ?? { type: "none" };
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const routes = new Map<string, Handler>(Object.entries({
    "/metrics": metricsHandler(options.registry, { logger }),
    ...healthRoutes({
      registry: options.registry,
      health: options.health ?? new Health(),
      service: options.service ??
        { name: "vigil", version: "unknown", environment: "development" },
      // The filesystem the service runs from, which --allow-read=. covers.
      system: new SystemMonitor({ diskPath: "." }),
      http: options.http,
      config: options.config,
    }),
    ...driftRoutes({
      registry: options.registry,
      maxBodyBytes,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      logger,
    }),
  }));
  const access = writeAccess(options.hostname, options.writeToken ?? "");
  const push = options.push;
  const table = new Map<string, RouteInfo>(
    ROUTE_TABLE.map((info) => [info.path, info]),
  );
  for (const [alias, target] of Object.entries(options.aliases ?? {})) {
    const route = routes.get(target);
    if (!alias.startsWith("/") || route === undefined) {
      throw new TypeError(
        `Cannot alias "${alias}" to "${target}": an alias starts with "/" and names one of ${
          ROUTES.join(", ")
        }`,
      );
    }
    routes.set(alias, route);
    table.set(alias, table.get(target)!);
  }
  const canonical = new Map<string, string>(
    Object.entries(options.aliases ?? {}),
  );
  const route = (
    request: Request,
    path: string,
  ): Response | Promise<Response> => {
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > maxBodyBytes) {
      return json({ error: "Request body too large" }, 413);
    }
    if (push !== undefined && isPush(path)) {
      if (!PUSH_METHODS.includes(request.method)) {
        return json({ error: "Method not allowed" }, 405, {
          allow: PUSH_METHODS.join(", "),
        });
      }
      return authorizeWrite(request, access) ??
        push(request, path.slice("/metrics/".length));
    }
    const handle = routes.get(path);
    const info = table.get(path);
    if (handle === undefined || info === undefined) {
      return json({ error: "Not found" }, 404);
    }
    if (!info.methods.includes(request.method)) {
      return json({ error: "Method not allowed" }, 405, {
        allow: info.methods.join(", "),
      });
    }
    const refused = info.protected
      ? authorize(request, auth)
      : info.write
      ? authorizeWrite(request, access)
      : undefined;
    return refused ?? handle(request);
  };
  if (options.http === undefined) {
    return (request) =>
      badHost(request)
        ? badHostResponse()
        : route(request, pathOf(request.url));
  }
  const measured = instrument(
    (request) => route(request, pathOf(request.url)),
    {
      metrics: options.http,
      routes: (request) => {
        const path = pathOf(request.url);
        if (push !== undefined && isPush(path)) {
          return PUSH_ROUTE;
        }
        return routes.has(path) ? canonical.get(path) ?? path : undefined;
      },
      logger,
      ...(options.accessLog === undefined
        ? {}
        : { accessLog: options.accessLog }),
    },
  );
  return (request) => {
    if (badHost(request)) return badHostResponse();
    const path = pathOf(request.url);
    return UNMEASURED_ROUTES.has(canonical.get(path) ?? path)
      ? route(request, path)
      : measured(request);
  };
}

/**
 * What RFC 3986 allows in a host and port: reg-name (unreserved,
 * pct-encoded, sub-delims), IP-literal brackets, and the colon. None of
 * `/ ? # @ \` or whitespace, so the path of `request.url` starts after it.
 */
const HOST = /^[A-Za-z0-9\-._~%!$&'()*+,;=:[\]]*$/;

/** Whether the Host header would move the path of `request.url`. */
function badHost(request: Request): boolean {
  const host = request.headers.get("host");
  return host !== null && !HOST.test(host);
}

function badHostResponse(): Response {
  return json({ error: "Invalid Host header" }, 400);
}

/** The path of an absolute URL, without parsing the rest of it. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  let end = url.indexOf("?", start);
  const hash = url.indexOf("#", start);
  if (end < 0 || (hash >= 0 && hash < end)) end = hash;
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

/**
 * Starts the Vigil server with `Deno.serve`.
 *
 * @param options The registry, address and listen callback.
 * @returns The running server; call `shutdown()` to stop it.
 *
 * @example Serve on a free port and probe it
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
  const hostname = options.hostname ?? "127.0.0.1";
  const server = Deno.serve({
    port,
    hostname,
    onListen: (addr) => onListen?.(addr as Deno.NetAddr),
  }, createHandler({ ...options, hostname }));
  return {
    addr: server.addr,
    finished: server.finished,
    shutdown: () => server.shutdown(),
  };
}
