import assert from "node:assert/strict";
import {
  DuplicateMetricError,
  OVERFLOW_LABEL_VALUE,
  Registry,
} from "../../src/metrics/mod.ts";
import { GENERATION } from "../../src/aggregation/protocol.ts";
import { recordingLogger } from "../_tools.ts";

function registry(options: ConstructorParameters<typeof Registry>[0] = {}) {
  return new Registry({ logger: recordingLogger(), ...options });
}

Deno.test("Registry rejects invalid metric names with a TypeError", async (t) => {
  const r = registry();
  for (const name of ["", "1abc", "a-b", "a b", "é", "__reserved"]) {
    await t.step(JSON.stringify(name), () => {
      assert.throws(() => r.gauge({ name, help: "x" }), TypeError);
      assert.throws(() => r.counter({ name, help: "x" }), TypeError);
    });
  }
  await t.step("the message names the metric and the rule", () => {
    assert.throws(() => r.gauge({ name: "a-b", help: "x" }), {
      name: "TypeError",
      message: /^Cannot register metric "a-b": a metric name must match/,
    });
  });
  await t.step("a counter needs a stem before _total", () => {
    assert.throws(() => r.counter({ name: "_total", help: "x" }), {
      name: "TypeError",
      message: /"_total": a counter name needs a stem/,
    });
  });
  await t.step("colons are allowed, as in recording rules", () => {
    r.gauge({ name: "job:requests:rate5m", help: "x" });
  });
});

Deno.test("Registry rejects invalid, reserved and repeated label names", async (t) => {
  const r = registry();
  const cases: [string, unknown[], RegExp][] = [
    ["bad syntax", ["a-b"], /label name "a-b" must match/],
    ["double underscore", ["__name"], /"__name" is reserved/],
    ["le", ["le"], /"le" is reserved for histograms and summaries/],
    ["quantile", ["quantile"], /"quantile" is reserved/],
    ["repeated", ["a", "a"], /"a" is listed twice/],
    ["not a string", [1], /label name 1 must match/],
  ];
  for (const [title, labelNames, message] of cases) {
    await t.step(title, () => {
      assert.throws(
        () =>
          r.counter({
            name: "x",
            help: "x",
            labelNames: labelNames as string[],
          }),
        { name: "TypeError", message },
      );
    });
  }
  await t.step("a default label name may not be a metric label", () => {
    const withDefaults = registry({ defaultLabels: { service: "api" } });
    assert.throws(
      () =>
        withDefaults.counter({ name: "y", help: "y", labelNames: ["service"] }),
      /"service" is already a default label/,
    );
  });
});

Deno.test("Registry rejects an empty or missing help", () => {
  const r = registry();
  assert.throws(
    () => r.gauge({ name: "x", help: " " }),
    /help must not be empty/,
  );
  assert.throws(
    () => r.gauge({ name: "x", help: undefined as unknown as string }),
    /help must be a string/,
  );
});

Deno.test("Registry validates its options", () => {
  assert.throws(() => registry({ defaultLabels: { "a-b": "x" } }), TypeError);
  assert.throws(
    () => registry({ defaultLabels: { a: 1 as unknown as string } }),
    /default label "a" must be a string/,
  );
  for (const limit of [0, -1, 1.5, NaN]) {
    assert.throws(() => registry({ cardinalityLimit: limit }), RangeError);
  }
});

Deno.test("Registry throws DuplicateMetricError for a name or sample in use", async (t) => {
  const r = registry();
  r.counter({ name: "jobs_total", help: "x" });
  r.gauge({ name: "queue", help: "x" });
  const cases: [string, () => unknown, RegExp][] = [
    [
      "the same counter",
      () => r.counter({ name: "jobs_total", help: "x" }),
      /^Cannot register metric "jobs": a metric with this name already exists$/,
    ],
    [
      "x and x_total are one family",
      () => r.counter({ name: "jobs", help: "x" }),
      /a metric with this name already exists/,
    ],
    [
      "a gauge named like a counter sample",
      () => r.gauge({ name: "jobs_total", help: "x" }),
      /its name "jobs_total" clashes with metric "jobs"/,
    ],
    [
      "a gauge named like a counter's _created",
      () => r.gauge({ name: "jobs_created", help: "x" }),
      /clashes with metric "jobs"/,
    ],
    [
      "a counter whose family is a gauge",
      () => r.counter({ name: "queue_total", help: "x" }),
      /"queue": a metric with this name already exists/,
    ],
    [
      "Vigil's own metrics",
      () => r.counter({ name: "vigil_cardinality_overflow_total", help: "x" }),
      /already exists/,
    ],
  ];
  for (const [title, register, message] of cases) {
    await t.step(title, () => {
      assert.throws(register, (error) => {
        assert.ok(error instanceof DuplicateMetricError);
        assert.equal(error.name, "DuplicateMetricError");
        assert.match(error.message, message);
        return true;
      });
    });
  }
});

Deno.test("Registry.unregister() frees a name and stops rendering it", async () => {
  const r = registry();
  r.counter({ name: "jobs_total", help: "x" }).inc();
  assert.equal(r.unregister("jobs_total"), true);
  assert.equal(r.unregister("jobs_total"), false);
  assert.doesNotMatch(await r.metrics(), /jobs/);
  r.gauge({ name: "jobs_total", help: "now a gauge" }).set(2);
  assert.match(await r.metrics(), /^jobs_total 2$/m);
});

Deno.test("Registry.unregister() drops a histogram or summary from its workers", async (t) => {
  for (
    const [kind, workers] of [
      ["histogram", 2],
      ["summary", 2],
      ["histogram", 0],
    ] as const
  ) {
    await t.step(`${kind}, ${workers} workers`, async () => {
      // One snapshot per batch, so a request returns after it.
      const r = registry({ aggregation: { workers, batchSlots: 2 } });
      try {
        const define = () =>
          r[kind]({ name: "job_seconds", help: "x", labelNames: ["k"] });
        const old = define();
        const kept = old.labels({ k: "a" });
        kept.observe(2);
        assert.match(await r.metrics(), /^job_seconds_count\{k="a"\} 1$/m);
        assert.equal(r.unregister("job_seconds"), true);
        assert.doesNotMatch(await r.metrics(), /job_seconds/);

        // What the user kept goes nowhere, and no worker minds.
        kept.observe(3);
        const late = old.labels({ k: "b" });
        late.observe(4);
        for (const child of [kept, late]) {
          await assert.rejects(child.snapshot(), /it was removed/);
        }
        assert.equal(old.remove({ k: "a" }), true);

        const again = define();
        const fresh = again.labels({ k: "a" });
        assert.equal((await fresh.snapshot()).count, 0);
        fresh.observe(5);
        kept.observe(6);
        const text = await r.metrics();
        assert.match(text, /^job_seconds_count\{k="a"\} 1$/m);
        assert.match(text, /^job_seconds_sum\{k="a"\} 5$/m);
        assert.doesNotMatch(text, /k="b"/);
        assert.match(text, /^vigil_worker_restarts_total 0$/m);
      } finally {
        await r.close();
      }
    });
  }
});

Deno.test("Registry.unregister() of a histogram keeps what vigil_values_refused_total counted", async () => {
  const r = registry({ aggregation: { workers: 1, batchSlots: 2 } });
  try {
    const refused = async () =>
      (await r.metrics()).match(
        /^vigil_values_refused_total\{metric="big"\} (\d+)$/m,
      )?.[1];
    const first = r.histogram({ name: "big", help: "x" });
    first.observe(1e308);
    first.observe(1e308); // refused
    assert.equal((await first.snapshot()).count, 1);
    // No scrape in between: unregister() counts what the pool has.
    r.unregister("big");
    assert.equal(await refused(), "1");
    const second = r.histogram({ name: "big", help: "x" });
    second.observe(1e308);
    second.observe(1e308); // refused
    assert.equal((await second.snapshot()).count, 1);
    assert.equal(await refused(), "2");
    r.unregister("big");
    assert.equal(await refused(), "2");
  } finally {
    await r.close();
  }
});

Deno.test("Registry.unregister() in 200 cycles leaves its worker one series index", async () => {
  const r = registry({ aggregation: { workers: 1 } });
  try {
    const indexes = new Set<number>();
    for (let cycle = 0; cycle < 200; cycle++) {
      const options = { name: "churn_seconds", help: "x", labelNames: ["k"] };
      const metric = cycle % 2 === 0
        ? r.histogram(options)
        : r.summary(options);
      const child = metric.labels({ k: "a" });
      child.observe(cycle);
      // Each starts from zero on the index its predecessor freed.
      assert.equal((await child.snapshot()).sum, cycle);
      indexes.add(child.placement.id % GENERATION);
      r.unregister("churn_seconds");
    }
    assert.deepEqual([...indexes], [0]);
    assert.doesNotMatch(await r.metrics(), /churn/);
  } finally {
    await r.close();
  }
});

Deno.test("Registry.close() is idempotent and refuses new metrics and scrapes", async () => {
  const r = registry();
  const c = r.counter({ name: "jobs_total", help: "x" });
  await r.close();
  await r.close();
  assert.equal(r.closed, true);
  c.inc(); // bound children keep working: the host never breaks
  await assert.rejects(r.metrics(), {
    message: "Cannot render metrics: the registry is closed",
  });
  assert.throws(
    () => r.gauge({ name: "late", help: "x" }),
    /registry is closed/,
  );
});

Deno.test("Labels are checked on every lookup", async (t) => {
  const r = registry();
  const c = r.counter({
    name: "req",
    help: "x",
    labelNames: ["method", "status"],
  });
  const bad: [string, unknown, RegExp][] = [
    ["missing", { method: "GET" }, /missing label "status"/],
    ["unknown", { method: "GET", status: "200", x: "1" }, /unknown label "x"/],
    ["renamed", { method: "GET", code: "200" }, /unknown label "code"/],
    [
      "wrong type",
      { method: "GET", status: true },
      /label "status" must be a string or a number, got boolean/,
    ],
    ["null value", { method: "GET", status: null }, /got null/],
    ["not an object", "GET", /labels must be an object, got string/],
    ["null", null, /labels must be an object, got null/],
  ];
  for (const [title, labels, message] of bad) {
    await t.step(title, () => {
      assert.throws(
        () => c.labels(labels as { method: string; status: string }),
        { name: "TypeError", message },
      );
    });
  }
  await t.step("a wrong label is refused even when the series exists", () => {
    c.labels({ method: "GET", status: "200" });
    assert.throws(
      () => c.labels({ method: "GET", status: "200", x: "1" } as never),
      /unknown label "x"/,
    );
  });
  await t.step("a label-less metric has no labels()", () => {
    const plain = r.counter({ name: "plain", help: "x" });
    assert.throws(() => plain.labels({} as never), /the metric has no labels/);
  });
});

Deno.test("Past the cardinality limit, new label sets fold into one overflow series", async () => {
  const logger = recordingLogger();
  const r = new Registry({ logger, cardinalityLimit: 3 });
  const c = r.counter({ name: "req", help: "x", labelNames: ["path"] });
  const other = r.counter({ name: "other", help: "x", labelNames: ["path"] });
  for (let i = 0; i < 10; i++) c.labels({ path: `/p${i}` }).inc(i + 1);
  for (let i = 0; i < 5; i++) other.labels({ path: `/q${i}` }).inc();
  // A series created before the limit is still its own.
  c.labels({ path: "/p0" }).inc(100);

  const text = await r.metrics();
  const samples = [...text.matchAll(/^req_total\{path="([^"]*)"\} (\S+)$/gm)]
    .map((match) => [match[1], Number(match[2])]);
  assert.deepEqual(samples, [
    ["/p0", 101],
    ["/p1", 2],
    ["/p2", 3],
    [OVERFLOW_LABEL_VALUE, 4 + 5 + 6 + 7 + 8 + 9 + 10],
  ]);
  const total = samples.reduce((sum, [, value]) => sum + (value as number), 0);
  assert.equal(total, 55 + 100);
  assert.match(
    text,
    /^vigil_cardinality_overflow_total\{metric="req",reason="cardinality"\} 7$/m,
  );
  assert.match(
    text,
    /^vigil_cardinality_overflow_total\{metric="other",reason="cardinality"\} 2$/m,
  );
  const warnings = logger.records.filter((record) => record.level === "warn");
  assert.deepEqual(
    warnings.map((record) => record.fields?.metric),
    ["req", "other"],
  );
});

Deno.test("The cardinality limit is not charged for removed series", async () => {
  const r = registry({ cardinalityLimit: 2 });
  const c = r.counter({ name: "req", help: "x", labelNames: ["a", "b"] });
  c.labels({ a: "1", b: "1" }).inc();
  c.labels({ a: "1", b: "2" }).inc();
  assert.equal(c.remove({ a: "1", b: "1" }), true);
  assert.equal(c.remove({ a: "1", b: "1" }), false);
  c.labels({ a: "2", b: "1" }).inc();
  const text = await r.metrics();
  assert.doesNotMatch(text, /__overflow__/);
  assert.match(text, /^req_total\{a="2",b="1"\} 1$/m);
  assert.doesNotMatch(text, /a="1",b="1"/);
});

Deno.test("metricsParts() writes what metrics() does, in both formats, workers' buffers passed on", async () => {
  const r = new Registry({
    logger: recordingLogger(),
    aggregation: { workers: 2 },
  });
  try {
    r.counter({ name: "jobs", help: "Jobs", labelNames: ["queue"] })
      .labels({ queue: "é🚀" }).inc(3);
    const h = r.histogram({
      name: "work_seconds",
      help: "Work",
      labelNames: ["k"],
    });
    const s = r.summary({ name: "score", help: "Score", labelNames: ["k"] });
    for (let i = 0; i < 50; i++) {
      h.labels({ k: `ü${i % 7}` }).observe(i / 10);
      s.labels({ k: `${i % 3}` }).observe(i);
    }
    for (const format of ["prometheus", "openmetrics"] as const) {
      const parts = await r.metricsParts({ format });
      const text = await r.metrics({ format });
      // The histogram's samples arrive as views of the workers' buffers.
      assert.ok(
        parts.some((part) =>
          typeof part !== "string" &&
          (part.byteOffset > 0 || part.buffer.byteLength > part.byteLength)
        ),
      );
      assert.equal(await new Blob(parts).text(), text);
    }
  } finally {
    await r.close();
  }
  await assert.rejects(r.metricsParts(), /registry is closed/);
});
