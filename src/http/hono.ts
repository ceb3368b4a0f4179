/**
 * {@linkcode honoMiddleware}: the request metrics, request ids, log context
 * and span naming of `instrument()` as middleware for Hono (`npm:hono`),
 * with the route label taken from Hono's router. On its own subpath, so
 * that `@vigil/observe/server` does not load Hono.
 *
 * @example Measure a Hono application
 * ```ts
 * import { Hono } from "hono";
 * import { Registry } from "@vigil/observe/metrics";
 * import { honoMiddleware } from "@vigil/observe/hono";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const app = new Hono();
 * app.use(honoMiddleware({ metrics: registry }));
 * app.get("/users/:id", (c) => c.text(`user ${c.req.param("id")}`));
 *
 * const response = await app.request("/users/42");
 * assert.equal(await response.text(), "user 42");
 * assert.match(
 *   await registry.metrics(),
 *   /^http_requests_total\{method="GET",route="\/users\/:id",status="200"\} 1$/m,
 * );
 * await registry.close();
 * ```
 *
 * @module
 */
import type { Context } from "hono";
import { matchedRoutes } from "hono/route";
import { type InstrumentOptions, UNMATCHED_ROUTE } from "./instrument.ts";
import { requestMeter, stampHeaders } from "./_request.ts";

/** The part of Hono's `Context` the middleware reads and writes. */
export interface HonoContext {
  /** The request: the web `Request` and the index of the running handler. */
  readonly req: { readonly raw: Request; readonly routeIndex: number };
  /** The response, once a handler has answered. */
  res: Response;
  /** The error a handler threw, as Hono's `onError` received it. */
  readonly error: Error | undefined;
}

/** Hono's middleware signature, for {@linkcode HonoContext}: `app.use()` takes it. */
export type HonoMiddleware = (
  c: HonoContext,
  next: () => Promise<void>,
) => Promise<void>;

/** Options of {@linkcode honoMiddleware}: those of `instrument()` but `routes`. */
export type HonoMiddlewareOptions = Pick<
  InstrumentOptions,
  "metrics" | "logger" | "accessLog"
>;

/**
 * Middleware measuring every request a Hono application serves, as
 * `instrument()` does: `http_requests_total{method,route,status}`,
 * `http_request_duration_seconds{method,route}`, `http_requests_in_progress`
 * and `http_request_errors_total{method,route,error}`, the request id in the
 * log context and in `X-Request-ID`, and under `OTEL_DENO=true` the server
 * span named `METHOD route` with a `traceresponse` header.
 *
 * The `route` label is the path Hono registered for the handler that
 * answered (`/users/:id`, with the base path of `app.route()` and
 * `basePath()`), read after `await next()`; a request that only
 * pass-through middleware saw (Hono's not-found answer) is `"unmatched"`:
 * a 404 whose last handler is registered for every method on a wildcard
 * path and declares `next`, as `app.use()` middleware does. A handler
 * declared without `next` (`app.all("/proxy/*", (c) => ...)`) answered
 * itself: its 404 keeps its route.
 * An `Error` thrown by a handler is answered by the application's
 * `onError` as Hono does; when that answer is a 5xx the error is counted
 * and logged. Anything else thrown is counted with status 500 and
 * re-thrown. Register it first, with `app.use()`, so that it sees every
 * request.
 *
 * @param options The registry (or metrics of `httpMetrics()`), logger and
 * access log.
 * @returns The middleware, for `app.use()`.
 *
 * @example Errors and the unmatched route
 * ```ts
 * import { Hono } from "hono";
 * import { Registry } from "@vigil/observe/metrics";
 * import { httpMetrics, UNMATCHED_ROUTE } from "@vigil/observe/server";
 * import { honoMiddleware } from "@vigil/observe/hono";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const app = new Hono();
 * app.use(honoMiddleware({ metrics: httpMetrics(registry) }));
 * app.get("/fail", () => {
 *   throw new RangeError("boom");
 * });
 *
 * assert.equal((await app.request("/fail")).status, 500);
 * assert.equal((await app.request("/nowhere")).status, 404);
 * const text = await registry.metrics();
 * assert.match(
 *   text,
 *   /^http_request_errors_total\{method="GET",route="\/fail",error="RangeError"\} 1$/m,
 * );
 * assert.ok(text.includes(`route="${UNMATCHED_ROUTE}",status="404"} 1`));
 * await registry.close();
 * ```
 */
export function honoMiddleware(
  options: HonoMiddlewareOptions,
): HonoMiddleware {
  const meter = requestMeter(options);
  return async (c, next) => {
    // Hono's index of the handler running; after next(), of the last one.
    const own = c.req.routeIndex;
    let thrown: { readonly error: unknown } | undefined;
    const stamp = await meter(c.req.raw, async () => {
      try {
        await next();
      } catch (error) {
        // Hono's compose hands an Error to onError; other values propagate.
        thrown = { error };
      }
      const route = honoRoute(c, own);
      if (thrown !== undefined) return { route, status: 500, failure: thrown };
      const { status } = c.res;
      return {
        route,
        status,
        ...(c.error !== undefined && status >= 500
          ? { failure: { error: c.error } }
          : {}),
        length: c.res.headers.get("content-length"),
      };
    });
    if (thrown !== undefined) throw thrown.error;
    try {
      stampHeaders(c.res.headers, stamp);
    } catch (error) {
      // Some responses (Response.redirect, fetched ones) have immutable
      // headers; Hono's setter copies the response into a mutable one.
      if (!(error instanceof TypeError)) throw error;
      c.res = new Response(c.res.body, c.res);
      stampHeaders(c.res.headers, stamp);
    }
  };
}

/** The template Hono registered for the last handler it ran after `own`. */
function honoRoute(c: HonoContext, own: number): string {
  const index = c.req.routeIndex;
  if (index === own) return UNMATCHED_ROUTE;
  // Every HonoContext given by Hono is its Context.
  const route = matchedRoutes(c as Context)[index];
  if (route === undefined) return UNMATCHED_ROUTE;
  // `app.use()` middleware (method ALL, a path ending in *, a handler that
  // takes `next`) that passed the request on to Hono's not-found handler:
  // no route matched. A handler declared without `next` cannot pass it on:
  // its 404 (`app.all("/proxy/*", ...)`) is its route's.
  if (
    c.res.status === 404 && route.method === "ALL" &&
    route.path.endsWith("*") && route.handler.length >= 2
  ) {
    return UNMATCHED_ROUTE;
  }
  return route.path;
}
