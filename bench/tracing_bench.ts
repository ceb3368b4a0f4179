/**
 * Tracing benchmarks without `OTEL_DENO` (no tracer provider): what the
 * helpers add to a call when tracing is off, as ratios from one run.
 *
 * - group "traced": a no-op function called through `traced()` and through
 *   a `@traced` method, 1000 calls an iteration (divide by 1000), against
 *   the bare call (baseline).
 * - group "helpers": `withSpan()` around a no-op block and
 *   `setSpanAttributes()` outside any span, 1000 calls an iteration,
 *   against the bare call.
 *
 * Run from the repository root with:
 *
 *     deno bench bench/tracing_bench.ts
 *
 * @module
 */
import { setSpanAttributes, traced, withSpan } from "../src/tracing/mod.ts";

const N = 1000;

function noop(x: number): number {
  return x;
}
const tracedNoop = traced("noop", noop);

class Service {
  @traced("Service.noop")
  noop(x: number): number {
    return x;
  }
}
const service = new Service();

let sink = 0;

Deno.bench("bare call", { group: "traced", baseline: true }, () => {
  for (let i = 0; i < N; i++) sink += noop(i);
});

Deno.bench("traced() no-op", { group: "traced" }, () => {
  for (let i = 0; i < N; i++) sink += tracedNoop(i);
});

Deno.bench("@traced method", { group: "traced" }, () => {
  for (let i = 0; i < N; i++) sink += service.noop(i);
});

Deno.bench("bare call", { group: "helpers", baseline: true }, () => {
  for (let i = 0; i < N; i++) sink += noop(i);
});

Deno.bench("withSpan() no-op block", { group: "helpers" }, () => {
  for (let i = 0; i < N; i++) sink += withSpan("block", {}, () => noop(i));
});

Deno.bench("setSpanAttributes(), no span", { group: "helpers" }, () => {
  for (let i = 0; i < N; i++) {
    if (setSpanAttributes({ "item.id": i })) sink++;
  }
});

globalThis.addEventListener("unload", () => {
  if (!Number.isFinite(sink)) throw new RangeError(`Bad sink: ${sink}`);
});
