/**
 * Drift detector benchmarks: each pure detector's `update()` against a bare
 * loop doing the arithmetic a detector cannot avoid, as ratios from one run.
 *
 * Each iteration feeds 1000 values, so the harness's own ~10 ns per
 * iteration does not swamp the cost of one update: divide a time by 1000.
 * Streams are fixed and long (65,536 values, read round robin), binary ones
 * with an error rate of 0.3 then 0.5, numeric ones a step from about 0.5 to
 * about 5, so detectors see warnings, drifts and restarts as they would in
 * service. The baselines:
 *
 * - binary: a running error rate and `sqrt(p (1 - p) / n)` per value, the
 *   least DDM (and its relatives) compute;
 * - numeric: a running mean and one fused sum per value, the least
 *   PageHinkley computes.
 *
 * Group "record" times `model.record()` against a bound histogram's
 * `observe()` on the main thread (see its comment below); its workers read
 * their modules from disk. Run from the repository root with:
 *
 *     deno bench --allow-read=workers,src bench/drift_bench.ts
 *
 * @module
 */
import { ADWIN, DDM, EDDM, HDDMA, PageHinkley } from "../src/drift/mod.ts";
import { Registry } from "../src/metrics/mod.ts";

/** Updates per bench iteration. */
const N = 1000;
const LENGTH = 65_536;

let seed = 12345;
/** A fixed pseudo-random number in [0, 1). */
function random(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
}

const bits = Uint8Array.from(
  { length: LENGTH },
  (_, i) => random() < (i < LENGTH / 2 ? 0.3 : 0.5) ? 1 : 0,
);
const numbers = Float64Array.from(
  { length: LENGTH },
  (_, i) => (i % 4096 < 2048 ? 0.5 : 5) + random(),
);

/** Every loop's result is added here, so no loop is dead code. */
let sink = 0;
let at = 0;

// --- binary detectors --------------------------------------------------

let errors = 0;
let count = 0;
Deno.bench({
  name: "bare: error rate and sqrt(p(1-p)/n) x1000",
  group: "binary",
  baseline: true,
  fn() {
    for (let i = 0; i < N; i++) {
      const x = bits[at++ & (LENGTH - 1)]!;
      count++;
      errors += x;
      const p = errors / count;
      sink += Math.sqrt(p * (1 - p) / count);
    }
  },
});

for (
  const [name, detector] of [
    ["DDM", new DDM()],
    ["EDDM", new EDDM()],
    ["HDDMA", new HDDMA()],
  ] as const
) {
  Deno.bench({
    name: `${name}.update(bit) x1000`,
    group: "binary",
    fn() {
      for (let i = 0; i < N; i++) {
        const state = detector.update(bits[at++ & (LENGTH - 1)] as 0 | 1);
        if (state === "drift") sink++;
      }
    },
  });
}

// --- numeric detectors -------------------------------------------------

let mean = 0;
let seen = 0;
let sum = 0;
Deno.bench({
  name: "bare: running mean and faded sum x1000",
  group: "numeric",
  baseline: true,
  fn() {
    for (let i = 0; i < N; i++) {
      const x = numbers[at++ & (LENGTH - 1)]!;
      seen++;
      mean += (x - mean) / seen;
      sum = 0.9999 * sum + (x - mean - 0.005);
    }
    sink += sum;
  },
});

for (
  const [name, detector] of [
    ["PageHinkley", new PageHinkley()],
    ["ADWIN", new ADWIN()],
  ] as const
) {
  Deno.bench({
    name: `${name}.update(x) x1000`,
    group: "numeric",
    fn() {
      for (let i = 0; i < N; i++) {
        const state = detector.update(numbers[at++ & (LENGTH - 1)]!);
        if (state === "drift") sink++;
      }
    },
  });
}

// --- model.record() against histogram observe() ------------------------

// The main thread's cost of one prediction: `model.record()` writes four
// numbers into the worker's batch ring where a bound histogram's
// `observe()` writes two. Timed as histogram_bench.ts times observe():
// each iteration's 1000 calls between t.start() and t.end(), the worker
// let to catch up every 32 iterations outside that span (awaiting a
// snapshot or status, which also checks every update was applied), and the
// first iteration sleeps 20 ms so `deno bench` measures in its
// high-precision mode.

const registry = new Registry({
  logger: { debug() {}, info() {}, warn() {}, error() {} },
  aggregation: { workers: 1 },
});
const latency = registry.histogram({
  name: "latency_seconds",
  help: "Latency",
  labelNames: ["route"],
}).labels({ route: "/predict" });
const model = registry.model({
  name: "bench",
  classes: [0, 1],
  detectors: [{ kind: "ddm" }, { kind: "adwin", input: "confidence" }],
});
const bare = registry.model({ name: "bench_bare", classes: [0, 1] });
const probas = Float64Array.from({ length: 1024 }, () => random());
const PACE = 32;

/** Times `loop` alone; every PACE calls, checks the worker applied `made`. */
function paced(
  loop: () => void,
  applied: () => Promise<number>,
): (t: Deno.BenchContext) => Promise<void> {
  let calls = 0;
  let made = 0;
  return async (t) => {
    if (calls === 0) await new Promise((r) => setTimeout(r, 20));
    t.start();
    loop();
    t.end();
    made += N;
    if (++calls % PACE === 0) {
      const count = await applied();
      if (count !== made) {
        throw new Error(`${made - count} of ${made} updates were not applied`);
      }
    }
  };
}

Deno.bench({
  name: "histogram observe(v) x1000 (bound child)",
  group: "record",
  baseline: true,
  fn: paced(() => {
    for (let i = 0; i < N; i++) latency.observe(probas[i & 1023]!);
  }, async () => (await latency.snapshot()).count),
});

Deno.bench({
  name: "model.record(prediction, actual, proba) x1000, DDM + ADWIN",
  group: "record",
  fn: paced(() => {
    for (let i = 0; i < N; i++) {
      model.record(bits[i & (LENGTH - 1)]!, 0, probas[i & 1023]!);
    }
  }, async () => (await model.status()).predictions),
});

Deno.bench({
  name: "model.record(prediction, actual) x1000, no detector",
  group: "record",
  fn: paced(() => {
    for (let i = 0; i < N; i++) bare.record(bits[i & (LENGTH - 1)]!, 1);
  }, async () => (await bare.status()).predictions),
});

// Keeps `sink` observable.
globalThis.addEventListener("unload", () => {
  if (Number.isNaN(sink)) console.log(sink);
});
