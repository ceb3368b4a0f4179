// The trace an observation or increment was made in, for exemplars.
import { trace as otelTrace, TraceFlags } from "@opentelemetry/api";

/** A trace and span id, lowercase hex (32 and 16 digits). */
export interface TraceRef {
  /** The trace id: 32 lowercase hex digits. */
  readonly traceId: string;
  /** The span id: 16 lowercase hex digits. */
  readonly spanId: string;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

/** The active span's ids, if it is sampled. */
export function sampledSpan(): TraceRef | undefined {
  const span = otelTrace.getActiveSpan();
  if (span === undefined) return undefined;
  const context = span.spanContext();
  return (context.traceFlags & TraceFlags.SAMPLED) === 0
    ? undefined
    : { traceId: context.traceId, spanId: context.spanId };
}

/** Checks ids given by the caller, or throws naming the metric. */
export function checkTrace(metric: string, trace: TraceRef): TraceRef {
  if (!TRACE_ID.test(trace.traceId) || !SPAN_ID.test(trace.spanId)) {
    throw new RangeError(
      `Cannot record with a trace in "${metric}": expected a trace id of 32 and a span id of 16 lowercase hex digits, got ${
        JSON.stringify(trace.traceId)
      } and ${JSON.stringify(trace.spanId)}`,
    );
  }
  return trace;
}
