/**
 * End to end for model monitors: predictions per second from
 * `model.record()` on the main thread into the worker that runs the model's
 * confusion matrix and detectors, with the final count checked exactly and
 * no drop. A plain script, like `bench/end_to_end.ts`: the producer yields
 * to the event loop so that the worker's acknowledgements free batch slots.
 *
 * One model per worker (a model lives on one worker), each with DDM on the
 * errors, with and without a proba (a proba also feeds the model's
 * `ml_prediction_confidence` histogram in the worker), and DDM with ADWIN on
 * the confidences. The
 * producer is paced: it records what a target rate owes, then yields with
 * `setTimeout(0)`. The rate is searched downwards from the saturated
 * capacity (offered far too fast: what the worker applies per second while
 * the rest is dropped) until a run ends with no drop and an exact count.
 *
 * Run from the repository root with:
 *
 *     deno run --allow-read=src,workers bench/drift_e2e.ts
 *
 * `--quick` shortens every run, to check that the script works.
 *
 * @module
 */
import type { DetectorSpec } from "../src/drift/mod.ts";
import { type Model, Registry } from "../src/metrics/mod.ts";
import {
  count,
  mps,
  print,
  printCommand,
  printHeader,
  quick,
  requireWorkerReadAccess,
  sample,
  SILENT,
  table,
  verdict,
  yieldToLoop,
} from "./_helpers.ts";

const COMMAND = "deno run --allow-read=src,workers bench/drift_e2e.ts";
const SECONDS = quick(4, 0.25);
const FLOOD = quick(40_000_000, 2_000_000);
const ATTEMPTS = quick(8, 2);
const TARGET = 20e6;

/** A fixed stream: errors about one in five, confidences in [0.5, 1). */
const LENGTH = 4096;
const PREDICTIONS = Uint8Array.from(
  { length: LENGTH },
  (_, i) => (i * 7) % 5 === 0 ? 1 : 0,
);
const PROBAS = Float64Array.from(
  { length: LENGTH },
  (_, i) => 0.5 + ((i * 0.618034) % 0.5),
);

/** A model's detectors, whether its predictions carry a proba, and the workers. */
interface Setting {
  readonly name: string;
  readonly workers: number;
  readonly detectors: readonly DetectorSpec[];
  /** With a proba, each prediction also feeds `ml_prediction_confidence`. */
  readonly proba: boolean;
}

interface Run {
  readonly target: number;
  readonly k: number;
  readonly wallMs: number;
  readonly counted: number;
  readonly dropped: number;
  readonly restarts: number;
}

function feed(
  models: readonly Model[],
  from: number,
  to: number,
  proba: boolean,
): void {
  const n = models.length;
  for (let i = from; i < to; i++) {
    const model = models[i % n]!;
    const prediction = PREDICTIONS[i & (LENGTH - 1)]!;
    if (proba) model.record(prediction, 0, PROBAS[i & (LENGTH - 1)]!);
    else model.record(prediction, 0);
  }
}

async function endToEnd(
  { workers, detectors, proba }: Setting,
  target: number,
  k: number,
  maxChunk = 1 << 17,
): Promise<Run> {
  const registry = new Registry({ logger: SILENT, aggregation: { workers } });
  const models = Array.from(
    { length: workers },
    (_, i) => registry.model({ name: `m${i}`, classes: [0, 1], detectors }),
  );
  const warm = Array.from(
    { length: workers },
    (_, i) => registry.model({ name: `warm${i}`, classes: [0, 1], detectors }),
  );
  // Workers loaded and both sides' loops compiled, on other models.
  for (let round = 0; round < 25; round++) {
    feed(warm, 0, 20_000, proba);
    await yieldToLoop();
  }
  await Promise.all(warm.map((model) => model.status()));
  const perMs = target / 1000;
  let done = 0;
  const start = performance.now();
  while (done < k) {
    const due = Math.min(
      k,
      done + maxChunk,
      Math.ceil((performance.now() - start) * perMs),
    );
    if (due > done) {
      feed(models, done, due, proba);
      done = due;
    }
    await yieldToLoop();
  }
  const statuses = await Promise.all(models.map((model) => model.status()));
  const end = performance.now();
  const text = await registry.metrics();
  await registry.close();
  return {
    target,
    k,
    wallMs: end - start,
    counted: statuses.reduce((total, s) => total + s.predictions, 0),
    dropped: sample(text, "vigil_observations_dropped_total"),
    restarts: sample(text, "vigil_worker_restarts_total"),
  };
}

const clean = (run: Run) =>
  run.dropped === 0 && run.counted === run.k && run.restarts === 0;

async function search(setting: Setting) {
  const flood = await endToEnd(setting, 1e9, FLOOD);
  const capacity = flood.counted / (flood.wallMs / 1000);
  let rate = Math.floor(capacity * 0.97 / 250_000) * 250_000;
  for (let attempt = 0; attempt < ATTEMPTS && rate > 0; attempt++) {
    const k = Math.max(1e6, Math.round(rate * SECONDS / 1e6) * 1e6);
    const run = await endToEnd(setting, rate, k);
    if (clean(run)) return { capacity, best: run };
    rate = Math.floor(rate * 0.95 / 250_000) * 250_000;
  }
  return { capacity, best: undefined };
}

requireWorkerReadAccess(COMMAND);
printHeader("Vigil model monitors end to end");

const DDM: DetectorSpec[] = [{ kind: "ddm" }];
const BOTH: DetectorSpec[] = [{ kind: "ddm" }, {
  kind: "adwin",
  input: "confidence",
}];
const settings: Setting[] = [
  { name: "DDM", workers: 1, detectors: DDM, proba: false },
  { name: "DDM", workers: 2, detectors: DDM, proba: false },
  { name: "DDM", workers: 1, detectors: DDM, proba: true },
  { name: "DDM", workers: 2, detectors: DDM, proba: true },
  { name: "DDM + ADWIN(confidence)", workers: 2, detectors: BOTH, proba: true },
];
const rows: (string | number)[][] = [];
let best = 0;
for (const setting of settings) {
  const { capacity, best: run } = await search(setting);
  const rate = run === undefined ? 0 : run.k / (run.wallMs / 1000);
  best = Math.max(best, rate);
  rows.push([
    setting.name,
    setting.proba ? "yes" : "no",
    setting.workers,
    mps(capacity),
    run === undefined ? "none clean" : mps(rate),
    run === undefined ? "-" : count(run.k),
    run === undefined ? "-" : `${count(run.counted)} (exact)`,
  ]);
}
print("## Predictions per second, main thread to the model's worker");
print();
print(
  "One model per worker (classes [0, 1], window 1000); with a proba, each " +
    "prediction also feeds the model's `ml_prediction_confidence` histogram. " +
    "Capacity: applied per second while offered far too fast (drops). Paced: the best rate " +
    "that ended with 0 dropped and the exact count in `status().predictions`, " +
    "K / (first record to last status resolved).",
);
print();
print(
  table(
    [
      "detectors",
      "proba",
      "workers",
      "capacity M/s",
      "paced M/s",
      "K",
      "counted",
    ],
    rows,
  ),
);
print();
print(
  `Target: at least ${mps(TARGET)} M updates/s end to end: ${
    verdict(best >= TARGET)
  }`,
);
printCommand(COMMAND);
