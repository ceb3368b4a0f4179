// The worker path of model monitors against the pure detectors: River's
// documented streams recorded through a model (or a watched histogram)
// give the same indices, states and figures as the classes fed directly,
// and a worker killed mid-stream changes none of them.
import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import { AggregationPool } from "../../src/aggregation/pool.ts";
import type { Connection } from "../../src/aggregation/shard.ts";
import { workerConnection } from "../../src/aggregation/connections.ts";
import { ModelMetrics } from "../../src/metrics/_model_metrics.ts";
import type { DriftEvent, ModelStatus } from "../../src/drift/model_types.ts";
import { createDetector, detectorStats } from "../../src/drift/detectors.ts";
import {
  DETECTOR_KINDS,
  type DetectorKind,
} from "../../src/drift/model_types.ts";
import { type RiverExample, riverExamples, riverParams } from "./_river.ts";
import { recordingLogger } from "../_tools.ts";
import { contextFor } from "../aggregation/_context.ts";

const BINARY = new Set<DetectorKind>(["ddm", "eddm", "hddm_a"]);

/** What the pure detector reports over a stream, as a monitor would. */
function pureRun(
  kind: DetectorKind,
  params: Record<string, unknown>,
  stream: readonly number[],
) {
  const detector = createDetector({ kind, input: "error", options: params });
  const events: { severity: string; updates: number }[] = [];
  let state = "stable";
  stream.forEach((x, i) => {
    const next = detector.update(x);
    if (next === "drift") events.push({ severity: "drift", updates: i + 1 });
    else if (next === "warning" && state !== "warning") {
      events.push({ severity: "warning", updates: i + 1 });
    }
    state = next;
  });
  return { detector, events, state };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("every River stream through a worker gives the pure detector's warnings, drifts and figures", async () => {
  const registry = new Registry({ logger: recordingLogger() });
  try {
    const latency = registry.histogram({
      name: "river_stream",
      help: "River's streams, observed",
      labelNames: ["example"],
    });
    const examples = DETECTOR_KINDS.flatMap((kind) =>
      riverExamples<number>(kind)
    );
    assert.equal(examples.length, 5, "one example per detector at least");
    const runs = examples.map((example: RiverExample<number>) => {
      const kind = example.detector as DetectorKind;
      const params = riverParams(example.params);
      const events: DriftEvent[] = [];
      let status: () => Promise<ModelStatus>;
      if (BINARY.has(kind)) {
        // An error is a prediction that differs from the actual class.
        const model = registry.model({
          name: example.name,
          classes: [0, 1],
          detectors: [{ kind, ...params }],
        });
        model.onDrift((event) => events.push(event));
        for (const x of example.stream) model.record(x, 0);
        status = () => model.status();
      } else {
        const child = latency.labels({ example: example.name });
        const watch = child.watch({
          kind: kind as "adwin" | "page_hinkley",
          name: example.name,
          ...params,
        });
        watch.onDrift((event) => events.push(event));
        for (const x of example.stream) child.observe(x);
        status = () => watch.status();
      }
      return { example, kind, params, events, status };
    });
    for (const { example, kind, params, events, status } of runs) {
      const pure = pureRun(kind, params, example.stream);
      const { detectors: [got] } = await status();
      assert.ok(got !== undefined);
      // River's own indices, as the fixture holds them.
      const drifts = events.filter((e) => e.severity === "drift");
      assert.deepEqual(
        drifts.map((e) => e.updates - 1),
        example.drift_indices,
        `${example.name}: drift indices`,
      );
      assert.deepEqual(
        events.map(({ severity, updates }) => ({ severity, updates })),
        pure.events,
        `${example.name}: events`,
      );
      assert.equal(got.updates, example.stream.length);
      assert.equal(got.n, pure.detector.n, `${example.name}: n`);
      assert.equal(got.state, pure.state);
      assert.equal(got.drifts, example.drift_indices.length);
      assert.equal(
        got.warnings,
        pure.events.filter((e) => e.severity === "warning").length,
      );
      assert.equal(got.score, pure.detector.score);
      assert.deepEqual(got.stats, detectorStats(kind, pure.detector));
    }
  } finally {
    await registry.close();
  }
});

/** A deterministic stream: errors and confidences that drift halfway. */
function stream(
  length: number,
): { prediction: number; actual: number; proba: number }[] {
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  return Array.from({ length }, (_, i) => {
    const late = i > length / 2;
    const actual = random() < 0.5 ? 1 : 0;
    const wrong = random() < (late ? 0.45 : 0.1);
    return {
      prediction: wrong ? 1 - actual : actual,
      actual,
      proba: Math.round((late ? 0.55 : 0.9) * 100 - random() * 20) / 100,
    };
  });
}

const DETECTORS = [
  { kind: "ddm" },
  { kind: "eddm" },
  { kind: "hddm_a" },
  { kind: "adwin", input: "confidence" },
  { kind: "page_hinkley", input: "confidence", threshold: 5 },
] as const;

/** Model figures but the times, which a replay takes anew. */
function timeless(status: ModelStatus) {
  return {
    ...status,
    detectors: status.detectors.map(({ lastDriftAt: _, ...rest }) => rest),
  };
}

function modelMetrics(pool: AggregationPool, logger = recordingLogger()) {
  const side = new Registry({ logger });
  const metrics = new ModelMetrics({
    pool,
    context: contextFor(logger),
    checkFree: () => {},
    register: () => {},
    counter: (name, help, labelNames) =>
      side.counter({ name, help, labelNames }),
    gauge: (name, help, labelNames) => side.gauge({ name, help, labelNames }),
    histogram: (name, help, labelNames, buckets) =>
      side.histogram({ name, help, labelNames, buckets }),
    internalCounter: (name, help, labelNames) =>
      side.counter({ name, help, labelNames }),
  });
  return { metrics, close: () => side.close() };
}

/**
 * Model metrics on one worker that a test can kill, with a small ring so
 * the kill finds batches to replay beside the snapshot.
 */
function killable() {
  const connections: Connection[] = [];
  const logger = recordingLogger();
  const pool = new AggregationPool(
    { workers: 1, batchSize: 256, batchSlots: 4, spillBatches: 4096 },
    logger,
    (onFailure) => {
      const connection = workerConnection(onFailure);
      connections.push(connection);
      return connection;
    },
  );
  const { metrics, close } = modelMetrics(pool, logger);
  return {
    pool,
    metrics,
    /** A batch its slot does not hold: the worker throws and is replaced. */
    kill: () =>
      connections.at(-1)!.port.postMessage({
        type: "batch",
        seq: -7,
        slot: 0,
        length: 2,
      }),
    restarts: () => connections.length - 1,
    close: async () => {
      pool.close();
      await close();
    },
  };
}

Deno.test("a worker killed mid-stream is restored and replayed: the same figures and each event once", async () => {
  const updates = stream(20_000);
  // The reference: the same stream aggregated on the main thread.
  const quiet = new AggregationPool({ workers: 0 }, recordingLogger());
  const reference = modelMetrics(quiet);
  const expectedEvents: DriftEvent[] = [];
  let expected: ModelStatus;
  try {
    const model = reference.metrics.create({
      name: "m",
      classes: [0, 1],
      window: 500,
      detectors: DETECTORS,
    });
    model.onDrift((event) => expectedEvents.push(event));
    for (const u of updates) model.record(u.prediction, u.actual, u.proba);
    expected = await model.status();
  } finally {
    quiet.close();
    await reference.close();
  }
  assert.ok(
    expectedEvents.filter((e) => e.severity === "drift").length >= 3,
    "the stream drifts",
  );

  const { pool, metrics, kill, restarts, close } = killable();
  try {
    const model = metrics.create({
      name: "m",
      classes: [0, 1],
      window: 500,
      detectors: DETECTORS,
    });
    const events: DriftEvent[] = [];
    model.onDrift((event) => events.push(event));
    const half = updates.length / 2;
    for (const u of updates.slice(0, half)) {
      model.record(u.prediction, u.actual, u.proba);
    }
    pool.flush();
    // Once a snapshot holds the model, record more, then kill the worker
    // with those batches retained and not snapshotted.
    while (pool.shards[0]!.held.snapshots < 2) await delay(10);
    for (const u of updates.slice(half, half + 2000)) {
      model.record(u.prediction, u.actual, u.proba);
    }
    pool.flush();
    assert.ok(pool.shards[0]!.retainedBatches > 0, "batches to replay");
    kill();
    for (const u of updates.slice(half + 2000)) {
      model.record(u.prediction, u.actual, u.proba);
    }
    const status = await model.status();
    assert.equal(restarts(), 1, "one restart");
    assert.equal(pool.restarts, 1);
    assert.equal(pool.dropped, 0);
    assert.deepEqual(timeless(status), timeless(expected));
    const key = ({ detectorIndex, severity, updates, score }: DriftEvent) => ({
      detectorIndex,
      severity,
      updates,
      score,
    });
    assert.deepEqual(events.map(key), expectedEvents.map(key));
  } finally {
    await close();
  }
});

Deno.test("a regression model feeds |prediction - actual| to its residual detectors", async () => {
  const registry = new Registry({ logger: recordingLogger() });
  try {
    const model = registry.model({
      name: "price",
      detectors: [{ kind: "page_hinkley", input: "residual", threshold: 3 }],
    });
    assert.equal(model.regression, true);
    const pure = createDetector({
      kind: "page_hinkley",
      input: "residual",
      options: { threshold: 3 },
    });
    const drifts: number[] = [];
    const expected: number[] = [];
    model.onDrift((event) => drifts.push(event.updates));
    for (let i = 0; i < 400; i++) {
      const actual = 100 + (i % 7);
      const prediction = actual + (i < 200 ? 0.1 : -2) * ((i % 3) - 1);
      model.record(prediction, actual);
      if (pure.update(Math.abs(prediction - actual)) === "drift") {
        expected.push(i + 1);
      }
    }
    const status = await model.status();
    assert.ok(expected.length > 0, "the residuals drift");
    assert.deepEqual(drifts, expected);
    assert.equal(status.quality, undefined, "no confusion matrix");
    assert.equal(status.detectors[0]!.score, pure.score);
  } finally {
    await registry.close();
  }
});

Deno.test("classes learned after the last snapshot survive a killed worker", async () => {
  const { pool, metrics, kill, restarts, close } = killable();
  try {
    // Learned classes; "yes" is the positive class, learned late.
    const model = metrics.create({ name: "m", positiveClass: "yes" });
    for (let i = 0; i < 2000; i++) model.record("no", "no");
    pool.flush();
    // Until a snapshot covers every batch so far.
    while (pool.shards[0]!.retainedBatches > 0) await delay(10);
    // After the snapshot: two new classes, then the worker dies.
    model.record("yes", "yes");
    model.record("maybe", "yes");
    pool.flush();
    assert.ok(pool.shards[0]!.retainedBatches > 0, "a batch to replay");
    kill();
    model.record("yes", "no");
    const status = await model.status();
    assert.equal(restarts(), 1, "one restart");
    assert.deepEqual(status.classes, ["no", "yes", "maybe"]);
    assert.equal(status.predictions, 2003);
    // Three classes: macro averages over the lifetime's classes. "yes":
    // predicted twice, right once (precision 1/2), actual twice, found once
    // (recall 1/2); "maybe": predicted once, wrong (0, 0); "no": predicted
    // 2000 times, right every time (precision 1), actual 2001 (recall
    // 2000/2001).
    const lifetime = status.quality!.lifetime;
    assert.equal(lifetime.precision, (1 + 1 / 2 + 0) / 3);
    assert.equal(lifetime.recall, (2000 / 2001 + 1 / 2 + 0) / 3);
    assert.equal(status.binary, false);
  } finally {
    await close();
  }
});
