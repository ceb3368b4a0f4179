/**
 * Where an aggregation worker's time goes: the cost of one observation in
 * the worker, split into its parts (the apply loop, the sparse HDR count,
 * the classic bucket lookup, snapshots, batch messages), and hdr-histogram-js
 * `recordValue` for comparison. Timed on the main thread with the same
 * `Aggregator` the worker uses, best of 5; the parts are timed alone, so they need not add up to the whole
 * loop. It explains the workers' capacity in `bench/end_to_end.ts`.
 *
 * Run from the repository root with:
 *
 *     deno run bench/worker_cost.ts
 *
 * It starts no worker, so it needs no permission. `--quick` (after the
 * script's name) shortens every loop, to check that the script works; its
 * figures mean nothing.
 *
 * @module
 */
import * as hdr from "hdr-histogram-js";
import { Aggregator } from "../src/aggregation/aggregator.ts";
import type { ToAggregator } from "../src/aggregation/protocol.ts";
import { hdrIndex, SparseCounts } from "../src/aggregation/hdr.ts";
import { BucketLookup } from "../src/aggregation/lookup.ts";
import { ByteArena } from "../src/aggregation/arena.ts";
import { DEFAULT_RESOLUTION } from "../src/metrics/_observed.ts";
import { AGGREGATION_DEFAULTS, DEFAULT_BUCKETS } from "../src/metrics/mod.ts";
import {
  count,
  mps,
  ms,
  print,
  printCommand,
  printHeader,
  quick,
  SERIES,
  table,
  VALUES,
} from "./_helpers.ts";

const COMMAND = "deno run bench/worker_cost.ts";

const { batchSize: BATCH_SIZE, batchSlots: BATCH_SLOTS } = AGGREGATION_DEFAULTS;

/** Repetitions are divided by this under `--quick`. */
const SCALE = quick(1, 10);
/** Timings per part; the best is kept. */
const TRIES = quick(5, 2);

interface Cost {
  component: string;
  ns: number;
  note: string;
}

/** Mean ms of `fn` over `reps` calls, after one untimed call. */
function time(fn: () => void, reps: number): number {
  reps = Math.max(1, Math.round(reps / SCALE));
  fn();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) fn();
  return (performance.now() - t0) / reps;
}

const best = (fn: () => number) =>
  Math.min(...Array.from({ length: TRIES }, fn));

async function workerCosts(): Promise<{ costs: Cost[]; applyNs: number }> {
  hdr.initWebAssemblySync();
  const aggregator = new Aggregator();
  aggregator.defineFamily({
    id: 0,
    kind: "histogram",
    name: "latency_seconds",
    buckets: DEFAULT_BUCKETS,
    quantiles: [],
    maxAgeMs: 0,
    ageBuckets: 0,
    resolution: DEFAULT_RESOLUTION,
  });
  // The end-to-end run's series, spread over 2 workers.
  const perShard = SERIES / 2;
  for (let id = 0; id < perShard; id++) {
    aggregator.defineSeries(
      { id, family: 0, pairs: `route="/r${id}"`, created: 0 },
      0,
    );
  }
  const batch = new Float64Array(BATCH_SIZE * 2);
  for (let i = 0; i < BATCH_SIZE; i++) {
    batch[2 * i] = i % perShard;
    batch[2 * i + 1] = VALUES[i & 4095]!;
  }
  // HDR units, as the aggregator makes them: 1 / resolution, a whole number.
  const perUnit = Math.round(1 / DEFAULT_RESOLUTION);
  const units = Float64Array.from(
    { length: BATCH_SIZE },
    (_, i) => Math.round(VALUES[i & 4095]! * perUnit),
  );

  // The whole apply loop, as the worker runs it on one batch.
  const applyNs = best(() =>
    time(() => aggregator.apply(batch, 0, batch.length, 0), 500) * 1e6 /
    BATCH_SIZE
  );

  // hdr-histogram-js recordValue alone, on the same values in HDR units.
  hdr.initWebAssemblySync();
  const histogram = hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: true,
  });
  const hdrNs = best(() =>
    time(() => {
      for (let i = 0; i < BATCH_SIZE; i++) histogram.recordValue(units[i]!);
    }, 500) * 1e6 / BATCH_SIZE
  );

  // The HDR index and sparse count, as HistogramState.record does them,
  // into one series' counts holding every distinct value of the batch.
  const sparse = new SparseCounts(new ByteArena());
  const sparseNs = best(() =>
    time(() => {
      for (let i = 0; i < BATCH_SIZE; i++) sparse.add(hdrIndex(units[i]!));
    }, 2000) * 1e6 / BATCH_SIZE
  );

  // The classic bucket by lookup, and the totals, as HistogramState.record
  // does them.
  const lookup = new BucketLookup(DEFAULT_BUCKETS, perUnit);
  const counts = new Float64Array(DEFAULT_BUCKETS.length + 1);
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  const searchNs = best(() =>
    time(() => {
      for (let i = 0; i < BATCH_SIZE; i++) {
        const value = VALUES[i & 4095]!;
        sum += value;
        if (value < min) min = value;
        if (value > max) max = value;
        counts[lookup.bucket(value, hdrIndex(units[i]!))]!++;
      }
    }, 2000) * 1e6 / BATCH_SIZE
  );
  if (!(sum > 0 && min <= max)) throw new Error("search loop optimised out");

  // A snapshot: the changed series, each encoded as varints (bucket counts,
  // then each HDR index as a delta and its count). The worker takes one whenever half its
  // batch slots wait for one.
  const snapshotMs = best(() =>
    time(() => {
      aggregator.apply(batch, 0, batch.length, 0);
      aggregator.takeSnapshot();
    }, 50) - time(() => aggregator.apply(batch, 0, batch.length, 0), 50)
  );
  const snapshotEvery = (BATCH_SLOTS / 2) * BATCH_SIZE;

  // A batch message: post and receive on a MessageChannel.
  const channel = new MessageChannel();
  const messages = Math.round(2000 / SCALE);
  let received = 0;
  const allReceived = new Promise<void>((resolve) => {
    channel.port2.onmessage = () => {
      if (++received === messages) resolve();
    };
  });
  const t0 = performance.now();
  for (let seq = 0; seq < messages; seq++) {
    const message: ToAggregator = {
      type: "batch",
      seq,
      slot: seq % BATCH_SLOTS,
      length: BATCH_SIZE * 2,
    };
    channel.port1.postMessage(message);
  }
  await allReceived;
  const messageMs = (performance.now() - t0) / messages;
  channel.port1.close();
  channel.port2.close();
  histogram.destroy();
  aggregator.close();

  const snapshotNs = snapshotMs * 1e6 / snapshotEvery;
  const messageNs = messageMs * 1e6 / BATCH_SIZE;
  const totalNs = applyNs + snapshotNs + messageNs;
  const costs: Cost[] = [
    {
      component: "Aggregator.apply, whole loop",
      ns: applyNs,
      note: "series lookup, dirty flag, HistogramState.record",
    },
    {
      component: "… of which HDR index + sparse count, alone",
      ns: sparseNs,
      note: `hdrIndex() and SparseCounts.add() over ${
        count(sparse.size)
      } distinct indexes`,
    },
    {
      component: "… of which classic bucket lookup + count/sum/min/max, alone",
      ns: searchNs,
      note: `BucketLookup over ${DEFAULT_BUCKETS.length} bounds`,
    },
    {
      component: "for comparison: hdr-histogram-js recordValue (Wasm)",
      ns: hdrNs,
      note: "per value, into a dense histogram of the whole range",
    },
    {
      component: "snapshot, amortised",
      ns: snapshotNs,
      note: `${ms(snapshotMs)} ms for ${perShard} series every ${
        count(snapshotEvery)
      } obs`,
    },
    {
      component: "batch message, amortised",
      ns: messageNs,
      note: `${(messageMs * 1000).toFixed(1)} µs per ${BATCH_SIZE}-obs batch`,
    },
    {
      component: "worker total: apply + snapshot + message",
      ns: totalNs,
      note: `${mps(1e9 / totalNs)} M obs/s per worker with a core to itself`,
    },
  ];
  return { costs, applyNs };
}

// --- main -------------------------------------------------------------------

printHeader("Vigil worker cost per observation");
const { costs, applyNs } = await workerCosts();
print("## Worker cost per observation");
print();
print(
  "The same aggregation code timed on the main thread, best of " +
    `${TRIES}; the parts are timed alone, so they need not add up to the ` +
    "whole loop. Snapshot and message costs come on top of apply. " +
    `batchSize ${BATCH_SIZE}, batchSlots ${BATCH_SLOTS} (the defaults), ` +
    `${SERIES / 2} series per worker.`,
);
print();
print(table(
  ["component", "ns/obs", "vs apply", "note"],
  costs.map((c) => [
    c.component,
    c.ns.toFixed(1),
    `${(100 * c.ns / applyNs).toFixed(0)}%`,
    c.note,
  ]),
));
print();
printCommand(COMMAND);
