/**
 * End to end: observations per second from the main thread into the
 * aggregation workers, with the final count checked exactly and zero drops,
 * for 1 and 2 workers. A plain script, not `deno bench`: the producer must
 * yield to the event loop so that snapshots can free batch slots, which the
 * bench harness does not give.
 *
 * The producer is paced: it records what a target rate owes, then yields
 * with `setTimeout(0)`. The rate is searched downwards from the workers'
 * saturated capacity (offered far too fast: what they apply per second while
 * dropping the rest) until a run ends with no drop and an exact count. What
 * one observation costs inside the worker is `bench/worker_cost.ts`.
 *
 * Run from the repository root with:
 *
 *     deno run --allow-read=src,workers bench/end_to_end.ts
 *
 * The read permission is for the aggregation workers, which load their
 * module graph (`workers/aggregator.ts`, `src/aggregation/`) from disk.
 * `--quick` (after the script's name) shortens every run, to check that the
 * script works; its figures mean nothing.
 *
 * @module
 */
import { AGGREGATION_DEFAULTS, Registry } from "../src/metrics/mod.ts";
import {
  count,
  mps,
  print,
  printCommand,
  printHeader,
  quick,
  record,
  requireWorkerReadAccess,
  sample,
  SERIES,
  SILENT,
  table,
  verdict,
  yieldToLoop,
} from "./_helpers.ts";

const COMMAND = "deno run --allow-read=src,workers bench/end_to_end.ts";

/** Seconds each paced run aims to last. */
const SECONDS = quick(4, 0.25);
/** Observations offered at once to measure the saturated capacity. */
const FLOOD = quick(60_000_000, 3_000_000);
/** Paced runs tried per worker count, each 5% slower than the last. */
const ATTEMPTS = quick(8, 2);
/** The target this figure is held to, observations per second. */
const TARGET = 25e6;

interface EndToEnd {
  workers: number;
  /** The pace asked for, observations per second. */
  target: number;
  /** Observations recorded. */
  k: number;
  /** First observe to the last snapshot resolving, ms. */
  wallMs: number;
  /** Spent in the observe loop, ms. */
  loopMs: number;
  /** Sum of the snapshots' counts. */
  counted: number;
  /** Dropped during the timed run. */
  dropped: number;
  /** Dropped during the warm-up (expected 0). */
  warmupDropped: number;
  restarts: number;
}

/**
 * Records `k` observations into `SERIES` bound children at `target` per
 * second, yielding to the event loop between chunks. No chunk exceeds
 * `maxChunk`, so a saturated run still yields often enough to take in
 * snapshots. Batch size and slots are the defaults.
 */
async function endToEnd(
  workers: number,
  target: number,
  k: number,
  maxChunk = 1 << 17,
): Promise<EndToEnd> {
  const registry = new Registry({ logger: SILENT, aggregation: { workers } });
  const latency = registry.histogram({
    name: "latency_seconds",
    help: "Latency",
    labelNames: ["route"],
  });
  const warmup = registry.histogram({
    name: "warmup_seconds",
    help: "Warm-up",
    labelNames: ["route"],
  });
  const children = Array.from(
    { length: SERIES },
    (_, i) => latency.labels({ route: `/r${i}` }),
  );
  const warm = Array.from(
    { length: SERIES },
    (_, i) => warmup.labels({ route: `/r${i}` }),
  );
  // Workers loaded, then their apply loop (and ours) compiled, on other
  // series so the measured counts are exactly k. Paced gently (about
  // 10 M/s), so the warm-up itself drops nothing.
  await Promise.all(warm.map((child) => child.snapshot()));
  for (let round = 0; round < 25; round++) {
    record(warm, 0, 20_000);
    await yieldToLoop();
  }
  await Promise.all(warm.map((child) => child.snapshot()));
  const before = await registry.metrics();
  const droppedBefore = sample(before, "vigil_observations_dropped_total");

  const perMs = target / 1000;
  let done = 0;
  let loopMs = 0;
  const start = performance.now();
  while (done < k) {
    const now = performance.now();
    const due = Math.min(k, done + maxChunk, Math.ceil((now - start) * perMs));
    if (due > done) {
      record(children, done, due);
      loopMs += performance.now() - now;
      done = due;
    }
    await yieldToLoop();
  }
  const snapshots = await Promise.all(children.map((c) => c.snapshot()));
  const end = performance.now();
  const text = await registry.metrics();
  await registry.close();
  return {
    workers,
    target,
    k,
    // The first chunk is recorded on the first pass, a few µs after start.
    wallMs: end - start,
    loopMs,
    counted: snapshots.reduce((total, s) => total + s.count, 0),
    dropped: sample(text, "vigil_observations_dropped_total") - droppedBefore,
    warmupDropped: droppedBefore,
    restarts: sample(text, "vigil_worker_restarts_total"),
  };
}

const clean = (run: EndToEnd) =>
  run.dropped === 0 && run.warmupDropped === 0 && run.counted === run.k &&
  run.restarts === 0;

interface Search {
  /** Applied observations per second while the ring stayed full. */
  capacity: number;
  best: EndToEnd | undefined;
  tried: EndToEnd[];
}

/**
 * Measures the saturated capacity, then tries paced runs from 97% of it, 5%
 * lower each time, until one ends clean.
 */
async function searchRate(workers: number, seconds: number): Promise<Search> {
  const flood = await endToEnd(workers, 1e9, FLOOD);
  const capacity = flood.counted / (flood.wallMs / 1000);
  const tried: EndToEnd[] = [];
  let rate = Math.floor(capacity * 0.97 / 250_000) * 250_000;
  for (let attempt = 0; attempt < ATTEMPTS && rate > 0; attempt++) {
    const k = Math.max(1e6, Math.round(rate * seconds / 1e6) * 1e6);
    const run = await endToEnd(workers, rate, k);
    tried.push(run);
    if (clean(run)) return { capacity, best: run, tried };
    rate = Math.floor(rate * 0.95 / 250_000) * 250_000;
  }
  return { capacity, best: undefined, tried };
}

// --- main -------------------------------------------------------------------

requireWorkerReadAccess(COMMAND);
printHeader("Vigil end-to-end throughput");

const searches = new Map<number, Search>();
for (const workers of [1, 2]) {
  searches.set(workers, await searchRate(workers, SECONDS));
}

print("## End to end: main thread to aggregation workers");
print();
print(
  `${SERIES} bound histogram series, batchSize ${AGGREGATION_DEFAULTS.batchSize}, ` +
    `batchSlots ${AGGREGATION_DEFAULTS.batchSlots} (the defaults). ` +
    "Paced producer, yielding with setTimeout(0) between chunks; the best " +
    "rate that ended with 0 dropped and an exact count. Throughput = K / " +
    "(first observe to last `snapshot()` resolved).",
);
print();
const rows: (string | number)[][] = [];
for (const [workers, search] of searches) {
  const run = search.best;
  if (run === undefined) {
    rows.push([
      workers,
      "-",
      "-",
      "-",
      "-",
      "-",
      "-",
      "-",
      mps(search.capacity),
    ]);
    continue;
  }
  rows.push([
    workers,
    mps(run.target),
    count(run.k),
    (run.wallMs / 1000).toFixed(2),
    `**${mps(run.k / (run.wallMs / 1000))}**`,
    (run.loopMs * 1e6 / run.k).toFixed(2),
    run.counted === run.k ? "exact" : `${run.counted} WRONG`,
    run.dropped,
    mps(search.capacity),
  ]);
}
print(table([
  "workers",
  "paced at (M/s)",
  "K observations",
  "wall (s)",
  "end to end (M obs/s)",
  "main thread (ns/obs)",
  "final count",
  "dropped",
  "saturated capacity (M/s)",
], rows));
print();
for (const [workers, search] of searches) {
  const log = search.tried.map((run) =>
    `${mps(run.target)} M/s: ${
      clean(run)
        ? "clean"
        : `${run.dropped} dropped (${run.warmupDropped} in warm-up), count ${run.counted}, ${run.restarts} restarts`
    }`
  ).join("; ");
  print(`- ${workers} worker(s), rates tried: ${log}`);
}
print();

const best = Math.max(
  ...[...searches.values()].map((s) =>
    s.best === undefined ? 0 : s.best.k / (s.best.wallMs / 1000)
  ),
);
print("## Target");
print();
print(table(["target", "result", "verdict"], [[
  `≥ ${TARGET / 1e6} M obs/s end to end, exact count, 0 dropped`,
  `${mps(best)} M obs/s`,
  verdict(best >= TARGET),
]]));
print();
printCommand(COMMAND);
