// Labels required at type-check time: on a metric declared with labelNames,
// the label-less methods and `value` fail type-checking. `deno check` (and
// `deno test`, which checks first) verifies each `@ts-expect-error` below:
// one that no longer finds an error is itself an error. At run time, the
// same calls made from JavaScript still throw a TypeError.
import assert from "node:assert/strict";
import { type Counter, type Gauge, Registry } from "../../src/metrics/mod.ts";
import { recordingLogger } from "../_tools.ts";

const WITHOUT_LABELS =
  /without labels: it has labels "k"; call labels\(\) first$/;

Deno.test("A labelled counter refuses inc() and value at type-check time, and throws from JavaScript", async () => {
  const r = new Registry({ logger: recordingLogger() });
  try {
    const c = r.counter({ name: "c_total", help: "x", labelNames: ["k"] });
    // @ts-expect-error: a counter with labels has no label-less inc()
    assert.throws(() => c.inc(), {
      name: "TypeError",
      message: WITHOUT_LABELS,
    });
    // @ts-expect-error: not with an increment either
    assert.throws(() => c.inc(2), TypeError);
    assert.throws(() => {
      // @ts-expect-error: value is typed LabelsRequired, not a number
      const value: number = c.value;
      return value;
    }, TypeError);
    assert.throws(() => {
      // @ts-expect-error: arithmetic on it fails too
      return c.value + 1;
    }, TypeError);
    // As plain JavaScript would call it, with no type to stop it.
    const untyped = c as unknown as Counter;
    assert.throws(() => untyped.inc(), {
      name: "TypeError",
      message: WITHOUT_LABELS,
    });
    c.labels({ k: "a" }).inc();
    assert.equal(c.labels({ k: "a" }).value, 1);
  } finally {
    await r.close();
  }
});

Deno.test("A labelled gauge refuses its label-less methods at type-check time, and throws from JavaScript", async () => {
  const r = new Registry({ logger: recordingLogger() });
  try {
    const g = r.gauge({ name: "g", help: "x", labelNames: ["k"] });
    // @ts-expect-error: set() needs labels() first
    assert.throws(() => g.set(1), {
      name: "TypeError",
      message: WITHOUT_LABELS,
    });
    // @ts-expect-error: so does inc()
    assert.throws(() => g.inc(), TypeError);
    // @ts-expect-error: and dec()
    assert.throws(() => g.dec(), TypeError);
    // @ts-expect-error: and setToCurrentTime()
    assert.throws(() => g.setToCurrentTime(), TypeError);
    // @ts-expect-error: and startTimer()
    assert.throws(() => g.startTimer(), TypeError);
    assert.throws(() => {
      // @ts-expect-error: value is typed LabelsRequired, not a number
      const value: number = g.value;
      return value;
    }, TypeError);
    g.labels({ k: "a" }).set(3);
    assert.equal(g.labels({ k: "a" }).value, 3);
  } finally {
    await r.close();
  }
});

Deno.test("A labelled histogram or summary refuses observe(), startTimer() and snapshot() at type-check time", async () => {
  const r = new Registry({
    logger: recordingLogger(),
    aggregation: { workers: 0 },
  });
  try {
    const h = r.histogram({ name: "h", help: "x", labelNames: ["k"] });
    const s = r.summary({ name: "s", help: "x", labelNames: ["k"] });
    // @ts-expect-error: observe() needs labels() first
    assert.throws(() => h.observe(1), {
      name: "TypeError",
      message: WITHOUT_LABELS,
    });
    // @ts-expect-error: so does startTimer()
    assert.throws(() => h.startTimer(), TypeError);
    // @ts-expect-error: and snapshot()
    assert.throws(() => h.snapshot(), TypeError);
    // @ts-expect-error: a summary alike
    assert.throws(() => s.observe(1), TypeError);
    // @ts-expect-error: a summary's snapshot() alike
    assert.throws(() => s.snapshot(), TypeError);
    h.labels({ k: "a" }).observe(1);
    assert.equal((await h.labels({ k: "a" }).snapshot()).count, 1);
  } finally {
    await r.close();
  }
});

Deno.test("Label-less metrics keep every label-less method, typed as before", async () => {
  const r = new Registry({
    logger: recordingLogger(),
    aggregation: { workers: 0 },
  });
  try {
    const c = r.counter({ name: "c_total", help: "x" });
    const empty = r.counter({ name: "e_total", help: "x", labelNames: [] });
    const g = r.gauge({ name: "g", help: "x" });
    const h = r.histogram({ name: "h", help: "x" });
    const s = r.summary({ name: "s", help: "x" });
    c.inc();
    empty.inc(2);
    g.set(1);
    g.inc();
    g.dec(0.5);
    g.startTimer();
    h.observe(1);
    s.observe(2);
    h.startTimer()();
    const total: number = c.value + empty.value;
    const level: number = g.value;
    assert.equal(total, 3);
    assert.equal(level, 1.5);
    assert.equal((await h.snapshot()).count, 2);
    assert.equal((await s.snapshot()).count, 1);
  } finally {
    await r.close();
  }
});

Deno.test("Declared metric types carry the rule: wider label types are refused too", async () => {
  const r = new Registry({ logger: recordingLogger() });
  try {
    // Generic code cannot tell that a Counter<L> has no labels.
    const bump = <L extends string>(counter: Counter<L>) => {
      // @ts-expect-error: L may be a label name
      counter.inc();
    };
    assert.throws(
      () => bump(r.counter({ name: "a_total", help: "x", labelNames: ["k"] })),
      TypeError,
    );
    const plain: Counter = r.counter({ name: "b_total", help: "x" });
    plain.inc();
    const labelled: Gauge<"k"> = r.gauge({
      name: "g",
      help: "x",
      labelNames: ["k"],
    });
    // @ts-expect-error: a declared Gauge<"k"> needs labels() first
    assert.throws(() => labelled.set(1), TypeError);
  } finally {
    await r.close();
  }
});
