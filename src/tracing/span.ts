// Spans on the OpenTelemetry API, with the provider Deno registers under
// OTEL_DENO=true. Vigil never registers one: without it every helper here
// is the function it wraps, or a check and a call.
import {
  ProxyTracerProvider,
  type Span as OtelSpan,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import { VERSION } from "../base/version.ts";

/** A span attribute's value, as OpenTelemetry allows it. */
export type SpanAttributeValue =
  | string
  | number
  | boolean
  | string[]
  | number[]
  | boolean[];

/** Span attributes by name; `undefined` values are skipped. */
export type SpanAttributes = Record<string, SpanAttributeValue | undefined>;

/**
 * The part of an OpenTelemetry `Span` Vigil uses and hands out: any span of
 * `@opentelemetry/api` (such as `trace.getActiveSpan()`) is one.
 */
export interface Span {
  /** Sets one attribute. */
  setAttribute(key: string, value: SpanAttributeValue): unknown;
  /** Sets attributes. */
  setAttributes(attributes: SpanAttributes): unknown;
  /** Adds an event, such as `"cache.miss"`. */
  addEvent(name: string, attributes?: SpanAttributes): unknown;
  /** Adds an `exception` event. */
  recordException(exception: Error | string): void;
  /** Sets the status: code 2 is ERROR, 1 is OK. */
  setStatus(status: { code: number; message?: string }): unknown;
  /** Renames the span. */
  updateName(name: string): unknown;
  /** Whether the span records anything (false without a provider). */
  isRecording(): boolean;
  /** The span's W3C ids and flags. */
  spanContext(): { traceId: string; spanId: string; traceFlags: number };
}

/** The instrumentation scope of Vigil's spans. */
export const TRACER_NAME = "@vigil/observe";

/**
 * Vigil's tracer, or undefined when no tracer provider is registered (Deno
 * without `OTEL_DENO=true`, and no SDK): the API then answers with its own
 * proxy, without a delegate, whose spans record nothing. A provider
 * registered through the API (an OpenTelemetry SDK) is the proxy's
 * delegate; Deno's is registered as itself.
 */
function tracer(): Tracer | undefined {
  const provider = trace.getTracerProvider();
  if (
    provider instanceof ProxyTracerProvider &&
    provider.getDelegateTracer(TRACER_NAME, VERSION) === undefined
  ) {
    return undefined;
  }
  return trace.getTracer(TRACER_NAME, VERSION);
}

/** Options of {@linkcode traced}. */
export interface TracedOptions {
  /**
   * Attributes every span of the function starts with.
   * @default {{}}
   */
  readonly attributes?: SpanAttributes;
}

/**
 * Marks `span` as failed by `error`: an `exception` event (type, message,
 * stack) and status ERROR with the error's message. The span is not ended.
 *
 * @param span The span, such as `trace.getActiveSpan()`.
 * @param error What was thrown.
 *
 * @example A caught error recorded on the active span
 * ```ts
 * import { trace } from "@opentelemetry/api";
 * import { recordSpanError } from "@vigil/observe/tracing";
 *
 * try {
 *   JSON.parse("{");
 * } catch (error) {
 *   const span = trace.getActiveSpan(); // undefined without OTEL_DENO=true
 *   if (span !== undefined) recordSpanError(span, error);
 * }
 * ```
 */
export function recordSpanError(span: Span, error: unknown): void {
  if (error instanceof Error) {
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  } else {
    const message = String(error);
    span.recordException(message);
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
}

/** Runs `fn` in `span` and ends it when `fn` returns, settles or throws. */
function inSpan<R>(span: OtelSpan, fn: () => R): R {
  let result: R;
  try {
    result = fn();
  } catch (error) {
    recordSpanError(span, error);
    span.end();
    throw error;
  }
  if (result instanceof Promise) {
    // The caller gets the very promise `fn` returned; the span ends when it
    // settles, before the caller's own continuations run.
    result.then(
      () => span.end(),
      (error: unknown) => {
        recordSpanError(span, error);
        span.end();
      },
    );
  } else {
    span.end();
  }
  return result;
}

/** A function `traced()` wraps, with its `this`. */
export type TracedFunction<This, Args extends unknown[], Return> = (
  this: This,
  ...args: Args
) => Return;

/** What `@traced(name)` is: a TC39 decorator of methods. */
export type TracedDecorator = <This, Args extends unknown[], Return>(
  method: TracedFunction<This, Args, Return>,
  context: ClassMethodDecoratorContext<
    This,
    TracedFunction<This, Args, Return>
  >,
) => TracedFunction<This, Args, Return>;

function wrap<This, Args extends unknown[], Return>(
  name: string,
  fn: TracedFunction<This, Args, Return>,
  options: TracedOptions,
): TracedFunction<This, Args, Return> {
  const spans = tracer();
  // Decided once, here: Deno registers its provider before any module runs.
  if (spans === undefined) return fn;
  const spanOptions = { attributes: options.attributes ?? {} };
  return function (this: This, ...args: Args): Return {
    return spans.startActiveSpan(
      name,
      spanOptions,
      (span) => inSpan(span, () => fn.apply(this, args)),
    );
  };
}

/**
 * Wraps a function, sync or async, so that each call is a span named `name`,
 * a child of the active span: ended when the function returns, its promise
 * settles or it throws; a thrown error or rejection is recorded on the span
 * (an `exception` event, status ERROR) and rethrown unchanged. Called with a
 * name only, it is the same thing as a TC39 method decorator:
 * `@traced("Repository.load")`.
 *
 * Without a tracer provider (Deno without `OTEL_DENO=true`) it returns `fn`
 * itself, and the decorator leaves the method as it is: no cost and no
 * change. Whether tracing is on is decided when the function is wrapped (or
 * the class defined); Deno decides it at start.
 *
 * @param name The span's name, such as `"load_model"`.
 * @param fn The function to trace.
 * @param options The spans' attributes.
 * @returns The traced function, or `fn` itself when tracing is off.
 *
 * @example A function and a method, traced
 * ```ts
 * import { traced } from "@vigil/observe/tracing";
 * import assert from "node:assert/strict";
 *
 * const score = traced(
 *   "score",
 *   async (features: number[]) => features.reduce((a, b) => a + b, 0),
 *   { attributes: { "model.name": "fraud" } },
 * );
 * assert.equal(await score([1, 2]), 3);
 *
 * class Repository {
 *   @traced("Repository.load")
 *   load(id: string): string {
 *     return `item ${id}`;
 *   }
 * }
 * assert.equal(new Repository().load("7"), "item 7");
 * ```
 */
export function traced<This, Args extends unknown[], Return>(
  name: string,
  fn: TracedFunction<This, Args, Return>,
  options?: TracedOptions,
): TracedFunction<This, Args, Return>;
/**
 * A TC39 method decorator: each call of the method is a span named `name`,
 * as {@linkcode traced} makes it for a function.
 *
 * @param name The span's name, such as `"Repository.load"`.
 * @param options The spans' attributes.
 * @returns The decorator.
 *
 * @example A traced method
 * ```ts
 * import { traced } from "@vigil/observe/tracing";
 *
 * class Model {
 *   @traced("Model.predict", { attributes: { "model.name": "fraud" } })
 *   async predict(x: number): Promise<number> {
 *     return x > 0.5 ? 1 : 0;
 *   }
 * }
 * await new Model().predict(0.7);
 * ```
 */
export function traced(name: string, options?: TracedOptions): TracedDecorator;
export function traced<This, Args extends unknown[], Return>(
  name: string,
  fnOrOptions?: TracedFunction<This, Args, Return> | TracedOptions,
  options: TracedOptions = {},
): TracedFunction<This, Args, Return> | TracedDecorator {
  if (typeof fnOrOptions === "function") {
    return wrap(name, fnOrOptions, options);
  }
  const decoratorOptions = fnOrOptions ?? {};
  return function decorate<T, A extends unknown[], R>(
    method: TracedFunction<T, A, R>,
  ): TracedFunction<T, A, R> {
    return wrap(name, method, decoratorOptions);
  };
}

/**
 * Runs `fn` in a new span named `name`, a child of the active span, and
 * ends it when `fn` returns, its promise settles or it throws (recorded and
 * rethrown unchanged). `fn` gets the span, to add attributes or events.
 * Without a tracer provider `fn` runs directly with a span that records
 * nothing.
 *
 * @param name The span's name.
 * @param attributes Its starting attributes.
 * @param fn The work.
 * @returns What `fn` returns.
 *
 * @example A block as a span
 * ```ts
 * import { withSpan } from "@vigil/observe/tracing";
 * import assert from "node:assert/strict";
 *
 * const rows = await withSpan("db.query", { "db.system": "postgresql" }, async (span) => {
 *   span.setAttribute("db.rows", 3);
 *   return 3;
 * });
 * assert.equal(rows, 3);
 * ```
 */
export function withSpan<T>(
  name: string,
  attributes: SpanAttributes,
  fn: (span: Span) => T,
): T {
  const spans = tracer();
  if (spans === undefined) return fn(trace.wrapSpanContext(INVALID_CONTEXT));
  return spans.startActiveSpan(
    name,
    { attributes },
    (span) => inSpan(span, () => fn(span)),
  );
}

const INVALID_CONTEXT = Object.freeze({
  traceId: "00000000000000000000000000000000",
  spanId: "0000000000000000",
  traceFlags: 0,
});

/**
 * Adds attributes to the active span, such as the user a handler has just
 * authenticated. Without an active span it does nothing and returns false.
 *
 * @param fields The attributes; `undefined` values are skipped.
 * @returns Whether there was a span to add them to.
 *
 * @example Attributes on the request's span
 * ```ts
 * import { setSpanAttributes } from "@vigil/observe/tracing";
 *
 * setSpanAttributes({ "user.id": "u-17", "cart.items": 3 });
 * ```
 */
export function setSpanAttributes(fields: SpanAttributes): boolean {
  const span = trace.getActiveSpan();
  if (span === undefined) return false;
  span.setAttributes(fields);
  return true;
}

/**
 * The W3C Trace Context Level 2 `traceresponse` header value of `span`:
 * `00-<trace-id>-<span-id>-<flags>`, or undefined for a span with no valid
 * ids (one that records nothing).
 *
 * @param span The span, such as the server span of a request.
 * @returns The header value.
 *
 * @example The header of the active span
 * ```ts
 * import { trace } from "@opentelemetry/api";
 * import { traceResponseHeader } from "@vigil/observe/tracing";
 *
 * const span = trace.getActiveSpan();
 * const value = span === undefined ? undefined : traceResponseHeader(span);
 * console.log(value ?? "no span");
 * ```
 */
export function traceResponseHeader(span: Span): string | undefined {
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (traceId === INVALID_CONTEXT.traceId) return undefined;
  return `00-${traceId}-${spanId}-${
    (traceFlags & 0xff).toString(16).padStart(2, "0")
  }`;
}
