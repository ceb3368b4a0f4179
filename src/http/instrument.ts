import type { Counter } from "../metrics/counter.ts";
import type { Gauge } from "../metrics/gauge.ts";
import type { Histogram } from "../metrics/histogram.ts";
import type { Registry } from "../metrics/registry.ts";
import { createLogger, type Logger } from "../base/log.ts";
import { withLogContext } from "../logging/context.ts";
import {
  recordSpanError,
  type Span,
  traceResponseHeader,
} from "../tracing/span.ts";
import { trace } from "@opentelemetry/api";
import { json } from "./handlers.ts";

/** The route label of requests no route matched. */
export const UNMATCHED_ROUTE = "unmatched";

/** Methods kept as label values; any other becomes `OTHER`. */
const METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "CONNECT",
  "TRACE",
]);

/** An incoming `X-Request-ID` is honoured only when it matches this. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The HTTP metrics `instrument()` records; see {@linkcode httpMetrics}. */
export interface HttpMetrics {
  /** `http_requests_total{method,route,status}`. */
  readonly requests: Counter<"method" | "route" | "status">;
  /** `http_request_duration_seconds{method,route}`. */
  readonly duration: Histogram<"method" | "route">;
  /** `http_requests_in_progress`. */
  readonly inProgress: Gauge;
  /** `http_request_errors_total{method,route,error}`: handler errors by type. */
  readonly errors: Counter<"method" | "route" | "error">;
}

/**
 * Registers the HTTP metrics once, to share between several instrumented
 * handlers of one registry.
 *
 * @param registry Where the metrics live.
 * @param buckets Latency buckets in seconds.
 * @returns The metrics.
 * @throws {DuplicateMetricError} When the registry has them already.
 */
export function httpMetrics(
  registry: Registry,
  buckets?: readonly number[],
): HttpMetrics {
  return {
    requests: registry.counter({
      name: "http_requests_total",
      help: "HTTP requests answered, by method, route template and status",
      labelNames: ["method", "route", "status"],
    }),
    duration: registry.histogram({
      name: "http_request_duration_seconds",
      help: "Time until the handler returned its response, in seconds",
      labelNames: ["method", "route"],
      ...(buckets === undefined ? {} : { buckets }),
    }),
    inProgress: registry.gauge({
      name: "http_requests_in_progress",
      help: "HTTP requests being handled",
    }),
    errors: registry.counter({
      name: "http_request_errors_total",
      help: "Errors thrown by handlers, by type; each was answered with 500",
      labelNames: ["method", "route", "error"],
    }),
  };
}

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
  accessLog?: boolean | {
    readonly successSampleRate?: number;
    readonly skipRoutes?: readonly string[];
  };
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
  const metrics = "requests" in options.metrics
    ? options.metrics
    : httpMetrics(options.metrics);
  const findRoute = routeFinder(options.routes);
  const logger = options.logger ?? createLogger("http");
  const access = accessLogger(options.accessLog);
  return (request, info) => {
    const incoming = request.headers.get("x-request-id");
    const requestId = incoming !== null && REQUEST_ID.test(incoming)
      ? incoming
      : crypto.randomUUID();
    // Every line logged while serving it carries its id, across awaits.
    return withLogContext(
      { request_id: requestId },
      () => serve(request, info, requestId),
    );
  };

  async function serve(
    request: Request,
    info: Deno.ServeHandlerInfo | undefined,
    requestId: string,
  ): Promise<Response> {
    const start = performance.now();
    const method = METHODS.has(request.method) ? request.method : "OTHER";
    const { route, params } = findRoute(request);
    // Deno's server span (OTEL_DENO=true): named by method only, no route.
    const span = serverSpan();
    if (span !== undefined && route !== UNMATCHED_ROUTE) {
      span.setAttribute("http.route", route);
      span.updateName(`${method === "OTHER" ? "HTTP" : method} ${route}`);
    }
    metrics.inProgress.inc();
    let response: Response;
    try {
      response = await handler(request, { requestId, route, params, info });
    } catch (error) {
      // Deno marks the 500 as an error but keeps no exception.
      if (span !== undefined) recordSpanError(span, error);
      const type = error instanceof Error ? error.name : typeof error;
      metrics.errors.labels({ method, route, error: type }).inc();
      logger.error("Request handler failed", {
        event: "http.request_failed",
        // In the context too; here for a logger that reads no context.
        request_id: requestId,
        method,
        route,
        error,
      });
      response = json({ error: "Internal Server Error", requestId }, 500);
    } finally {
      metrics.inProgress.dec();
    }
    const seconds = (performance.now() - start) / 1000;
    // With the request's span, when sampled, as the bucket's exemplar.
    metrics.duration.labels({ method, route }).observeWithTrace(seconds);
    metrics.requests.labels({ method, route, status: response.status }).inc();
    access?.(request, method, route, response, seconds);
    return withHeaders(response, requestId, span);
  }
}

/** The active span when it records (Deno's server span), else undefined. */
function serverSpan(): Span | undefined {
  const span = trace.getActiveSpan();
  return span !== undefined && span.isRecording() ? span : undefined;
}

/** The access log's writer, or undefined when it is off. */
function accessLogger(
  option: InstrumentOptions["accessLog"],
):
  | ((
    request: Request,
    method: string,
    route: string,
    response: Response,
    seconds: number,
  ) => void)
  | undefined {
  if (option === undefined || option === false) return undefined;
  const rate = option === true ? 1 : option.successSampleRate ?? 1;
  const skip = new Set(option === true ? [] : option.skipRoutes ?? []);
  if (!(rate >= 0 && rate <= 1)) {
    throw new RangeError(
      `Cannot instrument: accessLog.successSampleRate must be from 0 to 1, got ${rate}`,
    );
  }
  const log = createLogger(["http", "access"]);
  return (request, method, route, response, seconds) => {
    const { status } = response;
    if (skip.has(route)) return;
    if (status < 400 && rate < 1 && !(Math.random() < rate)) return;
    const length = response.headers.get("content-length");
    log.info(`${method} ${route} ${status}`, {
      event: "http.request",
      method,
      route,
      // The path only: a query string may hold secrets.
      path: pathOnly(request.url),
      status,
      duration_ms: Math.round(seconds * 1e6) / 1e3,
      ...(length === null ? {} : { bytes: Number(length) }),
    });
  };
}

function pathOnly(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.search(/[?#]/);
  return url.slice(start, end < 0 ? undefined : end);
}

function withHeaders(
  response: Response,
  requestId: string,
  span: Span | undefined,
): Response {
  // W3C Trace Context Level 2: the server's own span, for the caller to
  // find the trace.
  const traceresponse = span === undefined
    ? undefined
    : traceResponseHeader(span);
  try {
    response.headers.set("x-request-id", requestId);
    if (traceresponse !== undefined) {
      response.headers.set("traceresponse", traceresponse);
    }
    return response;
  } catch (error) {
    // Some responses (Response.redirect, fetched ones) have immutable headers.
    if (!(error instanceof TypeError)) throw error;
    const headers = new Headers(response.headers);
    headers.set("x-request-id", requestId);
    if (traceresponse !== undefined) {
      headers.set("traceresponse", traceresponse);
    }
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  }
}
