/**
 * {@linkcode oakMiddleware}: the request metrics, request ids, log context
 * and span naming of `instrument()` as middleware for Oak, with the route
 * label taken from Oak's router. It is typed against the shape of Oak's
 * context (request, response, the router's `matched` layers) and loads no
 * Oak module, so it serves `jsr:@oak/oak` and `npm:@oakserver/oak` alike.
 *
 * @example Measure an Oak application
 * ```ts
 * import { Application, Router } from "@oakserver/oak";
 * import { Registry } from "@vigil/observe/metrics";
 * import { oakMiddleware } from "@vigil/observe/oak";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const router = new Router();
 * router.get("/users/:id", (ctx) => {
 *   ctx.response.body = `user ${ctx.params.id}`;
 * });
 * const app = new Application();
 * app.use(oakMiddleware({ metrics: registry }));
 * app.use(router.routes());
 *
 * // npm's Oak build types its requests with undici's: hence `as never`.
 * const request = new Request("http://localhost/users/42");
 * const response = await app.handle(request as never);
 * assert.equal(await response?.text(), "user 42");
 * assert.match(
 *   await registry.metrics(),
 *   /^http_requests_total\{method="GET",route="\/users\/:id",status="200"\} 1$/m,
 * );
 * await registry.close();
 * ```
 *
 * @module
 */
import { type InstrumentOptions, UNMATCHED_ROUTE } from "./instrument.ts";
import { requestMeter, stampHeaders } from "./_request.ts";

/** Options of {@linkcode oakMiddleware}: those of `instrument()` but `routes`. */
export type OakMiddlewareOptions = Pick<
  InstrumentOptions,
  "metrics" | "logger" | "accessLog"
>;

/** A route of Oak's router, as it lists them in `context.matched`. */
export interface OakLayer {
  /** The route template, with the prefix of enclosing routers. */
  readonly path: string;
  /** The methods it answers; empty for `router.use()` middleware. */
  readonly methods: readonly string[];
}

/** The part of Oak's `Context` the middleware reads and writes. */
export interface OakContext {
  /** The request. */
  readonly request: {
    readonly method: string;
    readonly url: URL;
    readonly headers: Headers;
  };
  /** The response being built. */
  readonly response: {
    readonly status: number;
    readonly headers: Headers;
  };
  /** Set by Oak's router: the routes whose path matched the request. */
  readonly matched?: readonly OakLayer[] | undefined;
}

/** Oak's middleware signature, for {@linkcode OakContext}. */
export type OakMiddleware = (
  context: OakContext,
  next: () => Promise<unknown>,
) => Promise<void>;

/**
 * Middleware measuring every request an Oak application serves, as
 * `instrument()` does: `http_requests_total{method,route,status}`,
 * `http_request_duration_seconds{method,route}`, `http_requests_in_progress`
 * and `http_request_errors_total{method,route,error}`, the request id in the
 * log context and in `X-Request-ID`, and under `OTEL_DENO=true` the server
 * span named `METHOD route` with a `traceresponse` header.
 *
 * The `route` label is the path of the last route of Oak's router that
 * matched the request's path and method (`context.matched`, read after
 * `await next()`, prefixes of nested routers included); no such route
 * (no route, a 404 or a 405) is `"unmatched"`. An error thrown downstream
 * is re-thrown for Oak's error handling, which answers with the error's
 * `status` or 500; one answered with a 5xx is counted and logged. Oak's
 * error answer clears the response headers, so it carries no
 * `X-Request-ID`; the logged error carries the id. Register it first, with
 * `app.use()`, before the router's `routes()`.
 *
 * @param options The registry (or metrics of `httpMetrics()`), logger and
 * access log.
 * @returns The middleware, for `app.use()`.
 *
 * @example The request id is echoed
 * ```ts
 * import { Application } from "@oakserver/oak";
 * import { Registry } from "@vigil/observe/metrics";
 * import { oakMiddleware } from "@vigil/observe/oak";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const app = new Application();
 * app.use(oakMiddleware({ metrics: registry }));
 * app.use((ctx) => {
 *   ctx.response.body = "ok";
 * });
 *
 * const request = new Request("http://localhost/", {
 *   headers: { "x-request-id": "abc-1" },
 * });
 * const response = await app.handle(request as never);
 * assert.equal(response?.headers.get("x-request-id"), "abc-1");
 * await response?.body?.cancel();
 * await registry.close();
 * ```
 */
export function oakMiddleware(options: OakMiddlewareOptions): OakMiddleware {
  const meter = requestMeter(options);
  return async (context, next) => {
    const { request, response } = context;
    let thrown: { readonly error: unknown } | undefined;
    const stamp = await meter(request, async () => {
      try {
        await next();
      } catch (error) {
        thrown = { error };
      }
      const route = oakRoute(context);
      if (thrown === undefined) return { route, status: response.status };
      const status = errorStatus(thrown.error);
      return { route, status, ...(status >= 500 ? { failure: thrown } : {}) };
    });
    if (thrown !== undefined) throw thrown.error;
    stampHeaders(response.headers, stamp);
  };
}

/** The last matched route answering the request's method. */
function oakRoute(context: OakContext): string {
  const { method } = context.request;
  const layers = context.matched ?? [];
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    if (layer.methods.includes(method)) return layer.path;
  }
  return UNMATCHED_ROUTE;
}

/** The status Oak's error handling answers an error with. */
function errorStatus(error: unknown): number {
  if (error instanceof Deno.errors.NotFound) return 404;
  const status = typeof error === "object" && error !== null
    ? (error as { status?: unknown }).status
    : undefined;
  return typeof status === "number" && Number.isFinite(status) ? status : 500;
}
