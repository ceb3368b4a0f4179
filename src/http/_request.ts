// The per-request flow of instrument() for framework middleware, whose route
// is known only once the framework's router has run: request id, log
// context, in-progress gauge, metrics, error log, span naming and the
// access log, with the same names, labels and rules as instrument().
// instrument() itself runs on it.
import type { Registry } from "../metrics/registry.ts";
import { createLogger, type Logger } from "../base/log.ts";
import { withLogContext } from "../logging/context.ts";
import {
  recordSpanError,
  type Span,
  traceResponseHeader,
} from "../tracing/span.ts";
import { trace } from "@opentelemetry/api";
import {
  type AccessLogOption,
  type HttpMetrics,
  httpMetrics,
  UNMATCHED_ROUTE,
} from "./http_metrics.ts";

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

/** The `method` label of a request method: bounded to the known methods. */
export function methodLabel(method: string): string {
  const upper = method.toUpperCase();
  return METHODS.has(upper) ? upper : "OTHER";
}

/** What the middleware reads of the incoming request. */
export interface IncomingRequest {
  readonly method: string;
  readonly url: string | URL;
  readonly headers: Headers;
}

/** How the framework answered, as the middleware found out after `next()`. */
export interface Outcome {
  /** The route template from the framework's router, or `UNMATCHED_ROUTE`. */
  readonly route: string;
  readonly status: number;
  /** A handler error answered with a 5xx: counted, logged, put on the span. */
  readonly failure?: { readonly error: unknown };
  /** The response's `content-length`, when known. */
  readonly length?: string | null;
}

/** The headers the middleware sets on the response. */
export interface Stamp {
  readonly requestId: string;
  readonly traceresponse: string | undefined;
}

/** The options the adapters share with instrument(). */
export interface MeterOptions {
  /** The registry to record into, or metrics from `httpMetrics()`. */
  readonly metrics: Registry | HttpMetrics;
  /** Where handler errors are logged. */
  readonly logger?: Logger | undefined;
  /** The access log. */
  readonly accessLog?: AccessLogOption | undefined;
}

/** Measures one request served by `serve`, which reports its outcome. */
export type Meter = (
  request: IncomingRequest,
  serve: (requestId: string) => Promise<Outcome>,
) => Promise<Stamp>;

/** Builds the meter of one middleware; fails fast on bad options. */
export function requestMeter(options: MeterOptions): Meter {
  const metrics: HttpMetrics = "requests" in options.metrics
    ? options.metrics
    : httpMetrics(options.metrics as Registry);
  const logger: Logger = options.logger ?? createLogger("http");
  const access = accessLogger(options.accessLog);
  return (request, serve) => {
    const incoming = request.headers.get("x-request-id");
    const requestId = incoming !== null && REQUEST_ID.test(incoming)
      ? incoming
      : crypto.randomUUID();
    return withLogContext(
      { request_id: requestId },
      () => measure(request, serve, requestId),
    );
  };

  async function measure(
    request: IncomingRequest,
    serve: (requestId: string) => Promise<Outcome>,
    requestId: string,
  ): Promise<Stamp> {
    const start = performance.now();
    const method = methodLabel(request.method);
    const span = serverSpan();
    metrics.inProgress.inc();
    let outcome: Outcome;
    try {
      outcome = await serve(requestId);
    } finally {
      metrics.inProgress.dec();
    }
    const seconds = (performance.now() - start) / 1000;
    const { route, status, failure } = outcome;
    if (span !== undefined && route !== UNMATCHED_ROUTE) {
      span.setAttribute("http.route", route);
      span.updateName(`${method === "OTHER" ? "HTTP" : method} ${route}`);
    }
    if (failure !== undefined) {
      const { error } = failure;
      if (span !== undefined) recordSpanError(span, error);
      const type = error instanceof Error ? error.name : typeof error;
      metrics.errors.labels({ method, route, error: type }).inc();
      logger.error("Request handler failed", {
        event: "http.request_failed",
        request_id: requestId,
        method,
        route,
        error,
      });
    }
    metrics.duration.labels({ method, route }).observeWithTrace(seconds);
    metrics.requests.labels({ method, route, status }).inc();
    access?.(request.url, method, route, status, outcome.length, seconds);
    return {
      requestId,
      traceresponse: span === undefined ? undefined : traceResponseHeader(span),
    };
  }
}

/** The active span when it records (Deno's server span), else undefined. */
function serverSpan(): Span | undefined {
  const span = trace.getActiveSpan();
  return span !== undefined && span.isRecording() ? span : undefined;
}

/** Sets the request id and `traceresponse` headers. */
export function stampHeaders(headers: Headers, stamp: Stamp): void {
  headers.set("x-request-id", stamp.requestId);
  if (stamp.traceresponse !== undefined) {
    headers.set("traceresponse", stamp.traceresponse);
  }
}

type AccessLog = (
  url: string | URL,
  method: string,
  route: string,
  status: number,
  length: string | null | undefined,
  seconds: number,
) => void;

/** The access log's writer (as instrument() writes it), or undefined. */
function accessLogger(
  option: AccessLogOption | undefined,
): AccessLog | undefined {
  if (option === undefined || option === false) return undefined;
  const rate = option === true ? 1 : option.successSampleRate ?? 1;
  const skip = new Set(option === true ? [] : option.skipRoutes ?? []);
  if (!(rate >= 0 && rate <= 1)) {
    throw new RangeError(
      `Cannot instrument: accessLog.successSampleRate must be from 0 to 1, got ${rate}`,
    );
  }
  const log = createLogger(["http", "access"]);
  return (url, method, route, status, length, seconds) => {
    if (skip.has(route)) return;
    if (status < 400 && rate < 1 && !(Math.random() < rate)) return;
    log.info(`${method} ${route} ${status}`, {
      event: "http.request",
      method,
      route,
      // The path only: a query string may hold secrets.
      path: new URL(url).pathname,
      status,
      duration_ms: Math.round(seconds * 1e6) / 1e3,
      ...(length === null || length === undefined
        ? {}
        : { bytes: Number(length) }),
    });
  };
}
