import type { Registry } from "../metrics/registry.ts";
import type { Logger } from "../base/log.ts";
import { json } from "./handlers.ts";
import {
  type AccessLogOption,
  type HttpMetrics,
  UNMATCHED_ROUTE,
} from "./http_metrics.ts";
import { requestMeter, type Stamp, stampHeaders } from "./_request.ts";

export {
  type AccessLogOption,
  type HttpMetrics,
  httpMetrics,
  UNMATCHED_ROUTE,
} from "./http_metrics.ts";

/** What an instrumented handler receives besides the request. */
export interface RequestContext {
  /** The request's id: the valid incoming `X-Request-ID`, or a new UUID. */
  readonly requestId: string;
  /** The route template the request matched, or `"unmatched"`. */
  readonly route: string;
  /**
   * The matched route's named and numbered groups, as written in the path
   * (percent-encoded): `{ id: "42" }` for `/users/42` on `/users/:id`. Empty
   * when no route matched, when `routes` is a function, and for optional
   * groups that matched nothing.
   */
  readonly params: Readonly<Record<string, string>>;
  /** What `Deno.serve` passed, when it did. */
  readonly info: Deno.ServeHandlerInfo | undefined;
}

/** A handler that also receives a {@linkcode RequestContext}. */
export type InstrumentedHandler = (
  request: Request,
  context: RequestContext,
) => Response | Promise<Response>;

/** Options of {@linkcode instrument}. */
export interface InstrumentOptions {
  /** The registry to record into, or metrics from {@linkcode httpMetrics}. */
  metrics: Registry | HttpMetrics;
  /**
   * How a request's `route` label is found: `URLPattern`s or pathname
   * patterns tried in order (the first match's pathname pattern is the
   * label), or a function returning the label. The raw path is never used,
   * so cardinality stays bounded; unmatched requests share `"unmatched"`.
   * @default {[] (every request is "unmatched")}
   */
  routes?:
    | readonly (string | URLPattern)[]
    | ((request: Request) => string | undefined);
  /**
   * Where handler errors are logged, with the request id.
   * @default {Vigil's logger of category `vigil.http`, written where LogTape is configured}
   */
  logger?: Logger;
  /**
   * One line per request (`event: "http.request"`: method, route, path
   * without the query, status, duration, bytes, with the request and trace
   * ids of the context), at `info` in category `vigil.http.access`.
   * `true` logs every request; `successSampleRate` logs that share of the
   * successful ones (below 400) and every other; `skipRoutes` are not
   * logged (the server skips `/metrics`, which scrapers call every few
   * seconds).
   * @default {false}
   */
  accessLog?: AccessLogOption;
}

/** A request's route label and URL parameters. */
interface MatchedRoute {
  readonly route: string;
  readonly params: Readonly<Record<string, string>>;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

function routeFinder(
  routes: InstrumentOptions["routes"],
): (request: Request) => MatchedRoute {
  if (typeof routes === "function") {
    return (request) => ({
      route: routes(request) ?? UNMATCHED_ROUTE,
      params: NO_PARAMS,
    });
  }
  const patterns = (routes ?? []).map((route) => {
    const pattern = typeof route === "string"
      ? new URLPattern({ pathname: route })
      : route;
    return { pattern, label: pattern.pathname };
  });
  const unmatched: MatchedRoute = { route: UNMATCHED_ROUTE, params: NO_PARAMS };
  return (request) => {
    for (const { pattern, label } of patterns) {
      const match = pattern.exec(request.url);
      if (match !== null) {
        return { route: label, params: definedGroups(match.pathname.groups) };
      }
    }
    return unmatched;
  };
}

/** URLPattern gives `undefined` for an optional group that matched nothing. */
function definedGroups(
  groups: Record<string, string | undefined>,
): Readonly<Record<string, string>> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(groups)) {
    if (value !== undefined) params[name] = value;
  }
  return Object.freeze(params);
}

/**
 * Wraps a `Deno.serve` handler so that every request is measured:
 * `http_requests_total{method,route,status}`,
 * `http_request_duration_seconds{method,route}`, `http_requests_in_progress`
 * and `http_request_errors_total{method,route,error}`. The response carries
 * the request id in `X-Request-ID`. A handler that throws gets a 500 whose
 * body holds the request id and no detail of the error; the error is logged
 * with the request id. The handler receives the route's URL parameters.
 *
 * Under Deno's tracing (`OTEL_DENO=true`) the request's server span gets the
 * matched route as `http.route` and is named `METHOD route` (`GET
 * /users/:id`), a thrown error is recorded on it, and the response carries
 * the span's ids in a `traceresponse` header (W3C Trace Context Level 2);
 * the request's log lines carry the same `trace_id`.
 *
 * @param handler The application's handler; it may take the context.
 * @param options The registry (or metrics), routes and logger.
 * @returns The handler to give `Deno.serve`.
 *
 * @example Instrument an application
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { instrument } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const handler = instrument(
 *   (_request, { params }) => new Response(`user ${params.id}`),
 *   { metrics: registry, routes: ["/users/:id"] },
 * );
 * const response = await handler(new Request("http://localhost/users/42"));
 * assert.ok(response.headers.get("x-request-id"));
 * assert.equal(await response.text(), "user 42");
 * assert.match(
 *   await registry.metrics(),
 *   /^http_requests_total\{method="GET",route="\/users\/:id",status="200"\} 1$/m,
 * );
 * await registry.close();
 * ```
 */
export function instrument(
  handler: InstrumentedHandler,
  options: InstrumentOptions,
): (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response> {
  const findRoute = routeFinder(options.routes);
  const meter = requestMeter(options);
  return async (request, info) => {
    let response!: Response;
    const stamp = await meter(request, async (requestId) => {
      const { route, params } = findRoute(request);
      try {
        response = await handler(request, { requestId, route, params, info });
      } catch (error) {
        response = json({ error: "Internal Server Error", requestId }, 500);
        return { route, status: 500, failure: { error } };
      }
      return {
        route,
        status: response.status,
        length: response.headers.get("content-length"),
      };
    });
    return withHeaders(response, stamp);
  };
}

/** The response with the request id and `traceresponse` headers set. */
function withHeaders(response: Response, stamp: Stamp): Response {
  try {
    stampHeaders(response.headers, stamp);
    return response;
  } catch (error) {
    // Some responses (Response.redirect, fetched ones) have immutable headers.
    if (!(error instanceof TypeError)) throw error;
    const headers = new Headers(response.headers);
    stampHeaders(headers, stamp);
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  }
}
