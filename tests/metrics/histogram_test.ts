import assert from "node:assert/strict";
import {
  DEFAULT_BUCKETS,
  DuplicateMetricError,
  exponentialBuckets,
  linearBuckets,
  Registry,
} from "../../src/metrics/mod.ts";
import {
  ignoreWithoutPromtool,
  ignoreWithoutPython,
  parseOpenMetrics,
  promtoolCheck,
  recordingLogger,
} from "../_tools.ts";

const noPromtool = await ignoreWithoutPromtool();
const noPython = await ignoreWithoutPython();

function registry(workers = 2): Registry {
  return new Registry({ logger: recordingLogger(), aggregation: { workers } });
}

/** The value of one sample line, by a regular expression on its name and labels. */
function sample(text: string, selector: string): number {
  const escaped = selector.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`^${escaped} (\\S+)$`, "m").exec(text);
  assert.ok(match, `no sample ${selector} in:\n${text}`);
  return Number(match[1]);
}

Deno.test("DEFAULT_BUCKETS, linearBuckets() and exponentialBuckets() give ascending bounds", () => {
  assert.deepEqual(DEFAULT_BUCKETS, [
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
  ]);
  assert.deepEqual(linearBuckets(0.1, 0.1, 5), [0.1, 0.2, 0.3, 0.4, 0.5]);
  assert.deepEqual(linearBuckets(-1, 1, 3), [-1, 0, 1]);
  assert.deepEqual(exponentialBuckets(1, 10, 4), [1, 10, 100, 1000]);
  assert.throws(() => linearBuckets(0, 0, 3), RangeError);
  assert.throws(() => linearBuckets(NaN, 1, 3), RangeError);
  assert.throws(() => exponentialBuckets(0, 2, 3), RangeError);
  assert.throws(() => exponentialBuckets(1, 1, 3), RangeError);
  assert.throws(() => exponentialBuckets(1, 2, 0), {
    name: "RangeError",
    message: /count must be a positive integer, got 0/,
  });
});

Deno.test("Registry.histogram() validates buckets and resolution before starting workers", async (t) => {
  const r = new Registry({ logger: recordingLogger() });
  const cases: [string, object, RegExp][] = [
    ["empty", { buckets: [] }, /buckets must not be empty/],
    [
      "unsorted",
      { buckets: [1, 0.5] },
      /strictly increasing: 0.5 follows 1/,
    ],
    ["repeated", { buckets: [1, 1] }, /strictly increasing/],
    ["NaN", { buckets: [NaN] }, /bound NaN at index 0 is not a finite number/],
    [
      "too many",
      { buckets: linearBuckets(1, 1, 255) },
      /at most 254 buckets, got 255/,
    ],
    ["infinite inside", { buckets: [1, Infinity, 2] }, /not a finite number/],
    [
      "resolution",
      { resolution: 0 },
      /resolution must be a finite positive number/,
    ],
  ];
  for (const [title, options, message] of cases) {
    await t.step(title, () => {
      assert.throws(
        () => r.histogram({ name: "h", help: "x", ...options }),
        { name: "RangeError", message },
      );
    });
  }
  await t.step("a trailing +Inf is accepted", () => {
    const h = r.histogram({ name: "h", help: "x", buckets: [1, 2, Infinity] });
    assert.deepEqual(h.buckets, [1, 2]);
  });
  await t.step("le is reserved", () => {
    assert.throws(
      () => r.histogram({ name: "h2", help: "x", labelNames: ["le"] }),
      TypeError,
    );
  });
  await t.step("sample names clash with other metrics", () => {
    r.gauge({ name: "g_bucket", help: "x" });
    assert.throws(
      () => r.histogram({ name: "g", help: "x" }),
      DuplicateMetricError,
    );
    assert.throws(
      () => r.gauge({ name: "h_count", help: "x" }),
      DuplicateMetricError,
    );
  });
  await r.close();
});

Deno.test("Registry.summary() validates quantiles and window", () => {
  const r = new Registry({ logger: recordingLogger() });
  assert.throws(
    () => r.summary({ name: "s", help: "x", quantiles: [] }),
    /non-empty/,
  );
  assert.throws(
    () => r.summary({ name: "s", help: "x", quantiles: [1.5] }),
    /quantile 1.5 is not a number from 0 to 1/,
  );
  assert.throws(
    () => r.summary({ name: "s", help: "x", quantiles: [0.5, 0.5] }),
    /must not repeat/,
  );
  assert.throws(
    () => r.summary({ name: "s", help: "x", maxAgeSeconds: 0 }),
    /maxAgeSeconds/,
  );
  assert.throws(
    () => r.summary({ name: "s", help: "x", ageBuckets: 1.5 }),
    /ageBuckets/,
  );
  assert.throws(
    () => r.summary({ name: "s", help: "x", labelNames: ["quantile"] }),
    TypeError,
  );
});

Deno.test("observe() rejects values that are not finite", async () => {
  const r = registry(1);
  try {
    const h = r.histogram({ name: "h", help: "x" });
    for (const value of [NaN, Infinity, -Infinity]) {
      assert.throws(() => h.observe(value), {
        name: "RangeError",
        message: new RegExp(
          `^Cannot observe ${value} in "h": observations must be finite numbers$`,
        ),
      });
    }
    assert.equal((await h.snapshot()).count, 0);
  } finally {
    await r.close();
  }
});

Deno.test("observe() throws TypeError for a string, and records nothing", async () => {
  const r = registry(1);
  try {
    const h = r.histogram({
      name: "latency_seconds",
      help: "x",
      labelNames: ["route"],
    });
    const child = h.labels({ route: "/" });
    const s = r.summary({ name: "score", help: "x" });
    assert.throws(() => child.observe("0.5" as unknown as number), {
      name: "TypeError",
      message:
        'Cannot observe "0.5" in "latency_seconds": observations must be finite numbers, got a string',
    });
    assert.throws(() => s.observe("0.5" as unknown as number), {
      name: "TypeError",
      message:
        'Cannot observe "0.5" in "score": observations must be finite numbers, got a string',
    });
    assert.throws(() => s.observe(null as unknown as number), {
      name: "TypeError",
      message:
        'Cannot observe null in "score": observations must be finite numbers, got null',
    });
    assert.equal((await child.snapshot()).count, 0);
    assert.equal((await s.snapshot()).count, 0);
  } finally {
    await r.close();
  }
});

Deno.test({
  name:
    "An observation that would make the sum infinite is refused by the worker and counted in vigil_values_refused_total",
  fn: async () => {
    const r = new Registry({
      logger: recordingLogger(),
      aggregation: { workers: 1, snapshotIntervalMs: 10 },
    });
    try {
      const h = r.histogram({ name: "h", help: "x", labelNames: ["k"] });
      const s = r.summary({ name: "s", help: "x" });
      const child = h.labels({ k: "a" });
      child.observe(1e308);
      child.observe(1e308);
      child.observe(1);
      s.observe(-1e308);
      s.observe(-1e308);
      s.observe(-1e308);
      // Refusals reach the registry with the workers' snapshots.
      let text = "";
      for (let i = 0; i < 500; i++) {
        text = await r.metrics();
        if (
          /vigil_values_refused_total\{metric="h"\}/.test(text) &&
          /vigil_values_refused_total\{metric="s"\}/.test(text)
        ) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(sample(text, 'vigil_values_refused_total{metric="h"}'), 1);
      assert.equal(sample(text, 'vigil_values_refused_total{metric="s"}'), 2);
      assert.equal(sample(text, 'h_sum{k="a"}'), 1e308 + 1);
      assert.equal(sample(text, 'h_count{k="a"}'), 2);
      assert.equal(sample(text, "s_sum"), -1e308);
      assert.doesNotMatch(text, /Inf\n/);
      // Counted once: later scrapes add only new refusals.
      child.observe(1e308);
      await child.snapshot();
      for (let i = 0; i < 500; i++) {
        text = await r.metrics();
        if (sample(text, 'vigil_values_refused_total{metric="h"}') !== 1) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(sample(text, 'vigil_values_refused_total{metric="h"}'), 2);
      assert.equal(sample(text, 'vigil_values_refused_total{metric="s"}'), 2);
    } finally {
      await r.close();
    }
  },
});

Deno.test("Exact counts after 1,000,000 observations from 100 concurrent async producers", async () => {
  const r = registry(2);
  try {
    const h = r.histogram({
      name: "work_seconds",
      help: "x",
      labelNames: ["producer"],
    });
    const producers = 100;
    const each = 10_000;
    const expected = new Map<string, number[]>();
    await Promise.all(Array.from({ length: producers }, async (_, p) => {
      // Ten producers share each series, so series see interleaved writers.
      const child = h.labels({ producer: String(p % 10) });
      for (let i = 0; i < each; i++) {
        child.observe((i % 40) * 0.25); // exact in binary: the sum is exact
        if (i % 500 === 0) {
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      }
    }));
    for (let s = 0; s < 10; s++) {
      expected.set(String(s), [
        (producers / 10) * each,
        (producers / 10) * (each / 40) * (39 * 40 / 2) * 0.25,
      ]);
    }
    let total = 0;
    for (const [producer, [count, sum]] of expected) {
      const snapshot = await h.labels({ producer }).snapshot();
      assert.equal(snapshot.count, count);
      assert.equal(snapshot.sum, sum);
      assert.equal(snapshot.min, 0);
      assert.equal(snapshot.max, 9.75);
      total += snapshot.count;
    }
    assert.equal(total, 1_000_000);
    const text = await r.metrics();
    assert.equal(sample(text, 'work_seconds_count{producer="3"}'), 100_000);
    // 0, 0.25, ... 9.75 each 1/40 of the time: 21 of 40 values are <= 5.
    assert.equal(
      sample(text, 'work_seconds_bucket{producer="3",le="5.0"}'),
      100_000 * 21 / 40,
    );
    assert.equal(
      sample(text, 'work_seconds_bucket{producer="3",le="+Inf"}'),
      100_000,
    );
    assert.equal(sample(text, "vigil_observations_dropped_total"), 0);
  } finally {
    await r.close();
  }
});

Deno.test("Past the batch bound, observations are dropped and counted, never lost silently", async () => {
  const r = new Registry({
    logger: recordingLogger(),
    aggregation: { workers: 1, batchSize: 16, batchSlots: 2, spillBatches: 0 },
  });
  try {
    const h = r.histogram({ name: "h", help: "x" });
    // A tight loop with no yield: the ring of 2 x 16 fills at once.
    const total = 100_000;
    for (let i = 0; i < total; i++) h.observe(1);
    const { count } = await h.snapshot();
    const dropped = sample(
      await r.metrics(),
      "vigil_observations_dropped_total",
    );
    assert.ok(dropped > 0);
    assert.equal(count + dropped, total);
    // Once the worker catches up, nothing more is dropped.
    for (let i = 0; i < 16; i++) h.observe(1);
    assert.equal((await h.snapshot()).count, count + 16);
  } finally {
    await r.close();
  }
});

Deno.test("metrics() and snapshot() include every observation made just before", async () => {
  const r = registry(2);
  try {
    const h = r.histogram({ name: "h", help: "x", labelNames: ["k"] });
    const children = ["a", "b", "c"].map((k) => h.labels({ k }));
    for (let round = 1; round <= 20; round++) {
      for (const child of children) child.observe(round);
      const text = await r.metrics();
      for (const k of ["a", "b", "c"]) {
        assert.equal(sample(text, `h_count{k="${k}"}`), round);
      }
      assert.equal((await children[1]!.snapshot()).count, round);
    }
  } finally {
    await r.close();
  }
});

Deno.test("Concurrent scrapes share rounds, and each sees every observation made before it", async () => {
  const r = registry(2);
  try {
    const h = r.histogram({ name: "h", help: "x" });
    const scrapes: Promise<[number, number]>[] = [];
    for (let i = 1; i <= 40; i++) {
      h.observe(1);
      scrapes.push(r.metrics().then((text) => [i, sample(text, "h_count")]));
      // Mix calls in the same tick, the next microtask and the next task.
      if (i % 3 === 1) await Promise.resolve();
      if (i % 3 === 2) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    for (const [made, seen] of await Promise.all(scrapes)) {
      assert.ok(seen >= made, `scrape ${made} saw ${seen}`);
    }
  } finally {
    await r.close();
  }
});

Deno.test("A scrape does not join a round sent before an observation that was flushed since", async () => {
  const r = registry(1);
  try {
    const h = r.histogram({ name: "h", help: "x" });
    h.observe(0.1);
    await r.metrics();
    // All in one tick: the first scrape's round goes out, an observation
    // follows, snapshot() flushes it (nothing is left unflushed), and the
    // second scrape must not take the first one's round.
    const first = r.metrics();
    h.observe(0.2);
    const stats = h.snapshot();
    const second = r.metrics();
    assert.equal(sample(await first, "h_count"), 1);
    assert.equal(sample(await second, "h_count"), 2);
    assert.equal((await stats).count, 2);
  } finally {
    await r.close();
  }
});

Deno.test("A label-less histogram, summary and in-thread aggregation (workers: 0)", async () => {
  const r = registry(0);
  try {
    const h = r.histogram({
      name: "plain_seconds",
      help: "x",
      buckets: [1, 2],
    });
    h.observe(1);
    h.observe(1.5);
    const end = h.startTimer();
    assert.ok(end() >= 0);
    const s = r.summary({
      name: "score",
      help: "x",
      quantiles: [0, 0.5, 1],
      resolution: 1e-3,
    });
    for (const v of [1, 2, 3, 4, 5]) s.observe(v);
    const text = await r.metrics();
    assert.equal(sample(text, 'plain_seconds_bucket{le="1.0"}'), 2);
    assert.equal(sample(text, "plain_seconds_count"), 3);
    assert.equal(sample(text, 'score{quantile="0.0"}'), 1);
    assert.equal(sample(text, 'score{quantile="1.0"}'), 5);
    assert.equal(sample(text, "score_sum"), 15);
    const stats = await s.snapshot();
    assert.equal(stats.count, 5);
    assert.equal(stats.mean, 3);
    assert.throws(
      // @ts-expect-error: type-checking refuses it too (see types_test.ts)
      () => r.histogram({ name: "l", help: "x", labelNames: ["a"] }).observe(1),
      /without labels/,
    );
  } finally {
    await r.close();
  }
});

Deno.test("remove() drops a histogram series from the output and from the workers", async () => {
  const r = registry(1);
  try {
    const h = r.histogram({ name: "h", help: "x", labelNames: ["k"] });
    const a = h.labels({ k: "a" });
    a.observe(1);
    h.labels({ k: "b" }).observe(1);
    assert.equal(h.remove({ k: "a" }), true);
    a.observe(2); // a stale child: its observations are ignored
    const text = await r.metrics();
    assert.doesNotMatch(text, /k="a"/);
    assert.equal(sample(text, 'h_count{k="b"}'), 1);
    await assert.rejects(a.snapshot(), /it was removed/);
    // The same label set again is a new series.
    h.labels({ k: "a" }).observe(5);
    assert.equal(sample(await r.metrics(), 'h_count{k="a"}'), 1);
  } finally {
    await r.close();
  }
});

Deno.test("close() stops workers and timers, and later scrapes fail clearly", async () => {
  const r = registry(2);
  const h = r.histogram({ name: "h", help: "x" });
  h.observe(1);
  await r.close();
  await r.close();
  await assert.rejects(r.metrics(), /registry is closed/);
  h.observe(2); // ignored, no throw
  await assert.rejects(h.snapshot(), /closed/);
});

Deno.test({
  name:
    "promtool and the Python OpenMetrics parser accept histograms and summaries",
  ignore: noPromtool || noPython,
  fn: async () => {
    const r = new Registry({
      logger: recordingLogger(),
      defaultLabels: { service: "api" },
      aggregation: { workers: 2 },
    });
    try {
      const h = r.histogram({
        name: "http_request_duration_seconds",
        help: "Latency",
        labelNames: ["route"],
      });
      const s = r.summary({
        name: "ml_prediction_confidence",
        help: "Confidence",
        labelNames: ["model"],
        resolution: 1e-4,
      });
      for (let i = 0; i < 1000; i++) {
        h.labels({ route: `/r${i % 3}` }).observe(i / 500);
        s.labels({ model: "m" }).observe((i % 100) / 100);
      }
      r.histogram({ name: "empty_seconds", help: "Never observed" }).labels;
      const check = await promtoolCheck(await r.metrics());
      assert.equal(check.code, 0, check.stdout + check.stderr);
      const families = await parseOpenMetrics(
        await r.metrics({ format: "openmetrics" }),
      );
      const latency = families.find((f) =>
        f.name === "http_request_duration_seconds"
      );
      assert.equal(latency?.type, "histogram");
      const r0 = latency!.samples.filter((x) => x.labels.route === "/r0");
      const count = r0.find((x) => x.name.endsWith("_count"))!.value;
      const inf = r0.find((x) => x.labels.le === "+Inf")!.value;
      assert.equal(count, 334);
      assert.equal(inf, count);
      const confidence = families.find((f) =>
        f.name === "ml_prediction_confidence"
      );
      assert.equal(confidence?.type, "summary");
      assert.deepEqual(
        confidence!.samples.filter((x) => "quantile" in x.labels).map((x) =>
          x.labels.quantile
        ),
        ["0.5", "0.9", "0.99"],
      );
    } finally {
      await r.close();
    }
  },
});
