/**
 * Tracing on the OpenTelemetry API and Deno's own OTLP export
 * (`OTEL_DENO=true`): traced functions and methods, spans around blocks,
 * attributes on the active span, and the ids log lines carry. Vigil never
 * registers a tracer provider; without Deno's, every helper costs next to
 * nothing and changes nothing.
 *
 * @example A traced function, a traced method and a block
 * ```ts
 * import { currentTraceIds, traced, withSpan } from "@vigil/observe/tracing";
 *
 * const load = traced("load_model", async (name: string) => ({ name }));
 *
 * class Scorer {
 *   @traced("Scorer.score")
 *   score(x: number): number {
 *     return x * 2;
 *   }
 * }
 *
 * await withSpan("batch", { "batch.size": 2 }, async () => {
 *   await load("fraud");
 *   new Scorer().score(0.4);
 *   console.log(currentTraceIds()); // undefined without OTEL_DENO=true
 * });
 * ```
 *
 * @module
 */
export {
  recordSpanError,
  setSpanAttributes,
  type Span,
  type SpanAttributes,
  type SpanAttributeValue,
  traced,
  type TracedDecorator,
  type TracedFunction,
  type TracedOptions,
  traceResponseHeader,
  withSpan,
} from "./span.ts";
export { currentTraceIds, type TraceIds } from "../logging/context.ts";
