// Inputs and configurations that must not hurt a model monitor's worker or
// leave a model half applied: huge residuals and observations, batches too
// small for a record, watches whose series go away, names already taken.
import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import { DuplicateMetricError } from "../../src/metrics/errors.ts";
import { recordingLogger } from "../_tools.ts";

function sample(text: string, pattern: RegExp): string | undefined {
  return pattern.exec(text)?.[1];
}

Deno.test("residuals and watched values too large for a detector are skipped and counted, never fed", async () => {
  const logger = recordingLogger();
  const registry = new Registry({ logger });
  try {
    const model = registry.model({
      name: "price",
      detectors: [
        { kind: "adwin", input: "residual" },
        { kind: "page_hinkley", input: "residual" },
      ],
    });
    model.record(1e308, -1e308); // an infinite residual
    model.recordAll([{ prediction: 1e200, actual: 0 }]); // finite, too large
    model.record(3, 1);
    const latency = registry.histogram({ name: "huge", help: "Huge values" });
    const watch = latency.watch({ kind: "adwin" });
    latency.observe(1e200);
    latency.observe(1);
    const status = await model.status();
    assert.equal(status.predictions, 3);
    assert.equal(status.skipped, 4, "two values, two detectors each");
    assert.deepEqual(status.detectors.map((d) => d.updates), [1, 1]);
    const watched = await watch.status();
    assert.equal(watched.skipped, 1);
    assert.equal(watched.detectors[0]!.updates, 1);
    const text = await registry.metrics();
    assert.equal(sample(text, /^vigil_worker_restarts_total (\S+)$/m), "0");
    assert.deepEqual(logger.records.filter((r) => r.level === "error"), []);
  } finally {
    await registry.close();
  }
});

Deno.test("recordAll() refuses a batch the worker's batches cannot hold whole, with an odd batchSize", async () => {
  const registry = new Registry({
    logger: recordingLogger(),
    // Three observations a batch: room for one record of four values, and
    // two left over that no record can use.
    aggregation: { workers: 1, batchSize: 3, batchSlots: 2, spillBatches: 0 },
  });
  try {
    const model = registry.model({ name: "m", classes: [0, 1] });
    const updates = [0, 1, 0].map((p) => ({ prediction: p, actual: 0 }));
    assert.throws(
      () => model.recordAll(updates),
      (error) =>
        error instanceof RangeError && /room for 2/.test(error.message),
    );
    assert.equal((await model.status()).predictions, 0, "nothing applied");
    model.recordAll(updates.slice(0, 2));
    assert.equal((await model.status()).predictions, 2);
  } finally {
    await registry.close();
  }
});

Deno.test("a model needs batches of at least two observations", async () => {
  const registry = new Registry({
    logger: recordingLogger(),
    aggregation: { workers: 1, batchSize: 1 },
  });
  try {
    assert.throws(
      () => registry.model({ name: "m" }),
      (error) =>
        error instanceof RangeError &&
        /aggregation\.batchSize is 1/.test(error.message),
    );
  } finally {
    await registry.close();
  }
});

Deno.test("a watch goes with its series: unregistered, its drift metrics leave and its name is free", async () => {
  const registry = new Registry({ logger: recordingLogger() });
  try {
    const latency = registry.histogram({
      name: "lat_seconds",
      help: "Latency",
      labelNames: ["route"],
    });
    const child = latency.labels({ route: "/a" });
    child.watch({ kind: "adwin", name: "lat" });
    const removed = latency.labels({ route: "/b" });
    removed.watch({ kind: "page_hinkley", name: "lat_b" });
    child.observe(0.1);
    assert.match(
      await registry.metrics(),
      /ml_drift_state\{model_name="lat_b"/,
    );
    // One series removed: its watch only.
    latency.remove({ route: "/b" });
    let text = await registry.metrics();
    assert.doesNotMatch(text, /model_name="lat_b"/);
    assert.match(
      text,
      /ml_drift_state\{model_name="lat",detector_type="adwin"\} 0/,
    );
    // The whole metric: every watch of it.
    registry.unregister("lat_seconds");
    text = await registry.metrics();
    assert.doesNotMatch(text, /model_name="lat/);
    const again = registry.histogram({ name: "lat_seconds", help: "Latency" });
    const watch = again.watch({ kind: "adwin", name: "lat" });
    again.observe(0.2);
    assert.equal((await watch.status()).detectors[0]!.updates, 1);
  } finally {
    await registry.close();
  }
});

Deno.test("a model family name already taken refuses the model and leaves nothing half made", async () => {
  const registry = new Registry({ logger: recordingLogger() });
  try {
    registry.gauge({ name: "ml_model_accuracy", help: "Mine" });
    for (let i = 0; i < 2; i++) {
      assert.throws(
        () => registry.model({ name: "m" }),
        (error) =>
          error instanceof DuplicateMetricError &&
          /ml_model_accuracy/.test(error.message),
      );
    }
    registry.unregister("ml_model_accuracy");
    const model = registry.model({ name: "m", classes: [0, 1] });
    model.record(1, 1);
    const text = await registry.metrics();
    assert.equal(
      text.match(/^# TYPE ml_model_accuracy gauge$/gm)?.length,
      1,
      "one family",
    );
    assert.match(
      text,
      /^ml_model_accuracy\{model_name="m",window="recent"\} 1$/m,
    );
  } finally {
    await registry.close();
  }
});
