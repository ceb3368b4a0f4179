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
import { requestMeter, type Stamp, stampHeaders } from "./_request.ts";

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
    /** The body, when set. */
    readonly body?: unknown;
    /** False once the response is final, as after `response.with()`. */
    readonly writable?: boolean;
    /** The final response; Oak's own once `response.with()` gave it. */
    toDomResponse?(): Promise<OakFinalResponse>;
  };
  /** Set by Oak's router: the routes whose path matched the request. */
  readonly matched?: readonly OakLayer[] | undefined;
}

/** What the middleware reads and stamps of Oak's final response. */
export interface OakFinalResponse {
  /** The status sent. */
  readonly status: number;
  /** The headers sent; immutable on some responses. */
  readonly headers: Headers;
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
 * The `route` label is the path of the route of Oak's router that ran:
 * the last route answering the request's method whose handlers Oak started
 * (the router sets `context.captures` right before it runs a route), with
 * the prefixes of nested routers; so `/users/me` registered before
 * `/users/:id`, or a catch-all `/(.*)` after specific routes, label each
 * request by the route that answered it. No route run (no route, a 404 or
 * a 405) is `"unmatched"`. A response given with `ctx.response.with()` is
 * read from Oak's final response; when its headers are immutable (a
 * `fetch()` response, `Response.redirect()`), it carries no `X-Request-ID`.
 *
 * An error thrown downstream is re-thrown for Oak's error handling and
 * recorded with the status Oak answers: 404 for `Deno.errors.NotFound`, an
 * `Error`'s numeric `status`, else 500 (a thrown non-`Error` value is
 * always 500); one answered with a 5xx is counted and logged. The request
 * id and `traceresponse` are added to the error's `headers`, which Oak
 * copies onto its error answer (a thrown non-`Error` value has none, so
 * that answer carries no `X-Request-ID`). The access log's `bytes` is the
 * `content-length` header, or the size of a string or byte body. Register
 * it first, with `app.use()`, before the router's `routes()`.
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
  const logsLength = options.accessLog !== undefined &&
    options.accessLog !== false;
  return async (context, next) => {
    const { request, response } = context;
    const ran = watchRoutes(context);
    let thrown: { readonly error: unknown } | undefined;
    let final: OakFinalResponse | undefined;
    const stamp = await meter(request, async () => {
      try {
        await next();
      } catch (error) {
        thrown = { error };
      }
      const route = ran();
      if (thrown === undefined) {
        if (response.writable === false && response.toDomResponse) {
          // Given with response.with(): Oak's answer is final already.
          final = await response.toDomResponse();
          const length = logsLength
            ? final.headers.get("content-length")
            : null;
          return { route, status: final.status, length };
        }
        const length = logsLength ? bodyLength(response) : null;
        return { route, status: response.status, length };
      }
      const status = errorStatus(thrown.error, response.headers);
      return { route, status, ...(status >= 500 ? { failure: thrown } : {}) };
    });
    if (thrown !== undefined) {
      stampError(thrown.error, response.headers, stamp);
      throw thrown.error;
    }
    if (final === undefined) {
      stampHeaders(response.headers, stamp);
      return;
    }
    try {
      stampHeaders(final.headers, stamp);
    } catch (error) {
      // Immutable headers (fetch(), Response.redirect()): the answer stands.
      if (!(error instanceof TypeError)) throw error;
    }
  };
}

/**
 * Follows Oak's router on `context`: it sets `context.router` once it has
 * appended its matches to `context.matched`, then `context.captures` right
 * before running each of the routes matching the path and method, in
 * order. Returns the reader of the last such route with methods (not a
 * `router.use()` layer) that started.
 */
function watchRoutes(context: OakContext): () => string {
  const { method } = context.request;
  let ran: string | undefined;
  let running: OakLayer[] = [];
  let seen = 0;
  let router: unknown;
  let captures: unknown;
  const target = context as unknown as Record<string, unknown>;
  if (
    Object.getOwnPropertyDescriptor(target, "router") !== undefined ||
    Object.getOwnPropertyDescriptor(target, "captures") !== undefined
  ) {
    // Not a fresh context (another router ran first): the matched routes.
    return () => firstMatched(context);
  }
  Object.defineProperty(target, "router", {
    configurable: true,
    enumerable: true,
    get: () => router,
    set(value: unknown) {
      router = value;
      // This router's matches, in the order its routes will run (Oak's
      // own rule: a route with the method, or a `use()` layer).
      const matched = context.matched ?? [];
      running = matched.slice(seen).filter((layer) =>
        layer.methods.length === 0 || layer.methods.includes(method)
      );
      seen = matched.length;
    },
  });
  Object.defineProperty(target, "captures", {
    configurable: true,
    enumerable: true,
    get: () => captures,
    set(value: unknown) {
      captures = value;
      const layer = running.shift();
      if (layer !== undefined && layer.methods.length > 0) ran = layer.path;
    },
  });
  return () => ran ?? UNMATCHED_ROUTE;
}

/** The first matched route answering the request's method. */
function firstMatched(context: OakContext): string {
  const { method } = context.request;
  const layer = (context.matched ?? []).find((layer) =>
    layer.methods.includes(method)
  );
  return layer?.path ?? UNMATCHED_ROUTE;
}

/** The size of a string or byte body, else its `content-length`, if any. */
function bodyLength(response: OakContext["response"]): string | null {
  const known = response.headers.get("content-length");
  if (known !== null) return known;
  const { body } = response;
  if (typeof body === "string") {
    return String(new TextEncoder().encode(body).byteLength);
  }
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) {
    return String(body.byteLength);
  }
  return null;
}

/**
 * Adds the request id to the `headers` of a thrown `Error`, which Oak
 * copies onto its error answer. Oak accepts only its own `Headers` class
 * there: the one of `context.response.headers`.
 */
function stampError(error: unknown, own: Headers, stamp: Stamp): void {
  if (!(error instanceof Error)) return;
  const carrier = error as Error & { headers?: unknown };
  const OakHeaders = own.constructor as typeof Headers;
  if (!(carrier.headers instanceof OakHeaders)) {
    const headers = new OakHeaders();
    if (carrier.headers instanceof Headers) {
      for (const [key, value] of carrier.headers) headers.set(key, value);
    }
    try {
      // Defined, not assigned: Oak's HttpError has a `headers` getter only.
      Object.defineProperty(carrier, "headers", {
        value: headers,
        configurable: true,
        writable: true,
      });
    } catch (failure) {
      // A frozen error: Oak answers without the request id.
      if (!(failure instanceof TypeError)) throw failure;
      return;
    }
  }
  stampHeaders(carrier.headers as Headers, stamp);
}

/**
 * The status Oak's error handling answers an error with. Oak's npm build
 * (whose headers are undici's, not the global `Headers`) runs on a Deno
 * shim: its 404 is for the shim's `NotFound`, not Deno's.
 */
function errorStatus(error: unknown, own: Headers): number {
  // Oak turns a thrown non-Error into an Error with no status.
  if (!(error instanceof Error)) return 500;
  const native = own instanceof Headers;
  const notFound = native
    ? error instanceof Deno.errors.NotFound
    : !(error instanceof Deno.errors.NotFound) &&
      error.constructor.name === "NotFound";
  if (notFound) return 404;
  const { status } = error as { status?: unknown };
  return typeof status === "number" && Number.isFinite(status) && status > 0
    ? status
    : 500;
}
