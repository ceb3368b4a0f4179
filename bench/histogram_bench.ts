/**
 * Histogram benchmarks: the main thread's cost of recording one observation,
 * Vigil against prom-client and hdr-histogram-js, as ratios from one run.
 *
 * - group "observe": 1000 observations of latency-like values (1 ms to 10 s,
 *   read as `values[i & 1023]` so the JIT cannot fold them) per iteration;
 *   divide a time by 1000 for the cost of one call. Baseline: the same loop
 *   writing an `[id, value]` pair per observation into a bare `Float64Array`
 *   ring of one Vigil batch (4096 pairs), which is what Vigil's `observe()`
 *   does without the call, the finiteness check and the batch rotation.
 *
 * Vigil's `observe()` writes into a ring of batch slots (64 x 4096 by
 * default). A full slot is posted to the aggregation worker and comes back
 * only when the main thread receives the worker's next snapshot, which takes
 * an event-loop turn. A synchronous bench gives none in its 500 ms: the ring
 * and the spill buffers behind it fill within milliseconds, and the rest of
 * the run times the drop path (95% of observations dropped when tried). So
 * every bench here times its 1000 calls with `t.start()`/`t.end()`, and a
 * Vigil bench awaits `snapshot()` every 32 iterations, outside that span:
 * it flushes and waits until the worker has applied every batch, so at most
 * 41 of the 64 slots are ever taken and nothing spills or drops. The time
 * is the main thread's: the hot path plus, every 4096 observations, posting
 * the full batch (`Shard.rotate`). The aggregation itself runs on the worker
 * thread, which the pauses keep from falling behind; the worker idles in
 * them, so the first batch after a pause also pays for waking it, as it would
 * in a quieter service. Each pause checks that
 * the series' count equals the observations made; the first iteration of
 * each bench checks that `vigil_observations_dropped_total` and
 * `vigil_worker_restarts_total` are 0 (after a few restarts the shard would
 * aggregate on the main thread, and the bench would time that). Any
 * mismatch fails the run; its last line says how many observations were
 * made and checked.
 *
 * `deno bench` honours `start()`/`end()` only in its "high precision" mode,
 * chosen when warmup iterations average over 10 µs, so each bench's first
 * iteration also sleeps 20 ms. The timed span then includes two timer reads
 * (tens of ns per 1000 calls). Every bench has the same shape, so the ratios
 * compare like with like.
 *
 * The worker loads `workers/aggregator.ts` and its imports from `src/`,
 * which needs read access to them; nothing else needs a permission.
 * Run from the repository root with:
 *
 *     deno bench --allow-read=workers,src bench/histogram_bench.ts
 *
 * @module
 */
import * as hdr from "hdr-histogram-js";
import * as promClient from "prom-client";
import { DEFAULT_BUCKETS, Registry } from "../src/metrics/mod.ts";

/** Observations per bench iteration. */
const N = 1000;

/** Vigil benches let the worker catch up every this many iterations. */
const PACE = 32;

/** Warmup iterations, so the measured ones run optimised code. */
const WARMUP = 2000;

/**
 * Latencies in seconds, spread evenly on a log scale from 1 ms to 10 s
 * (over every default bucket) in a scrambled order.
 */
const values = new Float64Array(1024);
for (let i = 0; i < values.length; i++) {
  values[i] = 10 ** (-3 + 4 * ((i * 0.6180339887498949) % 1));
}

/** The same values in whole microseconds, for hdr-histogram-js. */
const micros = values.map((v) => Math.round(v * 1e6));

/** Every loop's result is added here, so no loop is dead code. */
let sink = 0;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

// --- Vigil --------------------------------------------------------------

const registry = new Registry({
  logger: silent,
  aggregation: { workers: 1 },
});
const vigilLatency = registry.histogram({
  name: "latency_seconds",
  help: "Latency",
  labelNames: ["route"],
});
const vigilChild = vigilLatency.labels({ route: "/predict" });
const vigilPlain = registry.histogram({ name: "plain_seconds", help: "x" });

/** A Vigil series, the observations made on it, and how many were checked. */
interface Tally {
  readonly name: string;
  readonly snapshot: () => Promise<{ count: number }>;
  made: number;
  checked: number;
}
const boundTally: Tally = {
  name: "bound",
  snapshot: () => vigilChild.snapshot(),
  made: 0,
  checked: 0,
};
const plainTally: Tally = {
  name: "label-less",
  snapshot: () => vigilPlain.snapshot(),
  made: 0,
  checked: 0,
};

/**
 * Waits until the worker has applied every observation of the series, and
 * fails unless it counted all of them.
 */
async function settle(tally: Tally): Promise<void> {
  const { count } = await tally.snapshot();
  if (count !== tally.made) {
    throw new Error(
      `vigil ${tally.name}: ${
        tally.made - count
      } of ${tally.made} observations were not aggregated`,
    );
  }
  tally.checked = count;
  sink += count;
}

/**
 * Fails if the registry counted a dropped observation, or restarted its
 * worker (after a few restarts it would aggregate on the main thread, and
 * the bench would time that instead).
 */
async function checkCounters(): Promise<void> {
  const text = await registry.metrics();
  for (const name of ["observations_dropped", "worker_restarts"]) {
    const value = new RegExp(`^vigil_${name}_total (\\S+)$`, "m").exec(text);
    if (value?.[1] !== "0") {
      throw new Error(
        `vigil_${name}_total is ${value?.[1]}, not 0` +
          (name === "worker_restarts"
            ? " (can the worker read workers/ and src/?)"
            : ""),
      );
    }
  }
  await settle(boundTally);
  await settle(plainTally);
}

// --- prom-client, hdr-histogram-js, baseline ---------------------------

const promRegistry = new promClient.Registry();
const promChild = new promClient.Histogram({
  name: "latency_seconds",
  help: "Latency",
  labelNames: ["route"],
  buckets: [...DEFAULT_BUCKETS],
  registers: [promRegistry],
}).labels({ route: "/predict" });

const hdrOptions = {
  bitBucketSize: 32,
  autoResize: true,
  lowestDiscernibleValue: 1,
  highestTrackableValue: 2,
  numberOfSignificantValueDigits: 3,
} as const;
const hdrJs = hdr.build(hdrOptions);
await hdr.initWebAssembly();
const hdrWasm = hdr.build({ ...hdrOptions, useWebAssembly: true });

/** A ring of one Vigil batch, filled as Vigil fills it. */
const ring = { buf: new Float64Array(2 * 4096), pos: 0, end: 2 * 4096 };
const seriesId = 3;

// --- the benches ---------------------------------------------------------

/**
 * A bench function that times `loop` alone. Its first call checks the
 * Vigil counters and sleeps (see the module comment); a Vigil bench passes
 * its tally, to pace the worker every {@linkcode PACE} calls.
 */
function timed(
  loop: () => void,
  tally?: Tally,
): (t: Deno.BenchContext) => Promise<void> {
  let calls = 0;
  return async (t) => {
    if (calls === 0) {
      await checkCounters();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    t.start();
    loop();
    t.end();
    calls++;
    if (tally !== undefined) {
      tally.made += N;
      if (calls % PACE === 0) await settle(tally);
    }
  };
}

const observe = { group: "observe", warmup: WARMUP };

Deno.bench({
  name: "Float64Array ring [id, v] x1000",
  ...observe,
  baseline: true,
  fn: timed(() => {
    for (let i = 0; i < N; i++) {
      let pos = ring.pos;
      if (pos >= ring.end) pos = 0;
      const buf = ring.buf;
      buf[pos] = seriesId;
      buf[pos + 1] = values[i & 1023]!;
      ring.pos = pos + 2;
    }
    sink += ring.buf[ring.pos - 1]!;
  }),
});

Deno.bench({
  name: "vigil bound observe(v) x1000",
  ...observe,
  fn: timed(() => {
    for (let i = 0; i < N; i++) vigilChild.observe(values[i & 1023]!);
  }, boundTally),
});

Deno.bench({
  name: "vigil label-less observe(v) x1000",
  ...observe,
  fn: timed(() => {
    for (let i = 0; i < N; i++) vigilPlain.observe(values[i & 1023]!);
  }, plainTally),
});

Deno.bench({
  name: "prom-client bound observe(v) x1000",
  ...observe,
  fn: timed(() => {
    for (let i = 0; i < N; i++) promChild.observe(values[i & 1023]!);
  }),
});

Deno.bench({
  name: "hdr-histogram-js recordValue(us) x1000",
  ...observe,
  fn: timed(() => {
    for (let i = 0; i < N; i++) hdrJs.recordValue(micros[i & 1023]!);
    sink += hdrJs.maxValue;
  }),
});

Deno.bench({
  name: "hdr-histogram-js wasm recordValue(us) x1000",
  ...observe,
  fn: timed(() => {
    for (let i = 0; i < N; i++) hdrWasm.recordValue(micros[i & 1023]!);
    sink += hdrWasm.maxValue;
  }),
});

globalThis.addEventListener("unload", () => {
  const made = boundTally.made + plainTally.made;
  const checked = boundTally.checked + plainTally.checked;
  console.log(
    `vigil: ${made} observations made, ${checked} of them checked: ` +
      "counted by the worker, none dropped" +
      (checked < made ? `; the last ${made - checked} unchecked` : ""),
  );
  hdrWasm.destroy();
  void registry.close();
  if (!Number.isFinite(sink)) throw new Error(`sink is ${sink}`);
});
