import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/mod.ts";
import { recordingLogger } from "../_tools.ts";

function registry(): Registry {
  return new Registry({ logger: recordingLogger(), now: () => 5000 });
}

Deno.test("Counter.inc() adds increments, default 1", () => {
  const c = registry().counter({ name: "jobs_total", help: "x" });
  c.inc();
  c.inc(2.5);
  c.inc(0);
  assert.equal(c.value, 3.5);
});

Deno.test("Counter.inc() throws RangeError for negative, NaN or infinite increments", async (t) => {
  const c = registry().counter({
    name: "jobs_total",
    help: "x",
    labelNames: ["k"],
  });
  const child = c.labels({ k: "a" });
  for (const value of [-1, -0.001, NaN, Infinity, -Infinity]) {
    await t.step(String(value), () => {
      assert.throws(() => child.inc(value), {
        name: "RangeError",
        message: new RegExp(
          `^Cannot increment counter "jobs_total" by ${value}: increments must be finite and not negative$`,
        ),
      });
    });
  }
  assert.equal(child.value, 0);
});

Deno.test("Counter.labels() returns the same cached child for the same label set", () => {
  const c = registry().counter({
    name: "req",
    help: "x",
    labelNames: ["method", "status"],
  });
  const a = c.labels({ method: "GET", status: 200 });
  const b = c.labels({ status: "200", method: "GET" });
  assert.equal(a, b);
  a.inc();
  b.inc();
  assert.equal(a.value, 2);
  assert.notEqual(c.labels({ method: "GET", status: 201 }), a);
});

Deno.test("Label values that share a joined form stay distinct series", async () => {
  const r = registry();
  const c = r.counter({ name: "req", help: "x", labelNames: ["a", "b"] });
  c.labels({ a: "x\u0000", b: "y" }).inc(1);
  c.labels({ a: "x", b: "\u0000y" }).inc(2);
  c.labels({ a: "x,y", b: "" }).inc(3);
  c.labels({ a: "x", b: ",y" }).inc(4);
  const samples = (await r.metrics()).split("\n").filter((line) =>
    line.startsWith("req_total")
  );
  assert.equal(samples.length, 4);
});

Deno.test("A label-less counter refuses label methods, a labelled one refuses inc()", () => {
  const r = registry();
  const labelled = r.counter({
    name: "req",
    help: "x",
    labelNames: ["method"],
  });
  // @ts-expect-error: type-checking refuses it too (see types_test.ts)
  assert.throws(() => labelled.inc(), {
    name: "TypeError",
    message:
      /Cannot use counter "req" without labels: it has labels "method"; call labels\(\) first/,
  });
  assert.throws(() => labelled.value, TypeError);
});

Deno.test("Counter.reset() zeroes a label-less counter and restarts _created", async () => {
  let now = 1000;
  const r = new Registry({ logger: recordingLogger(), now: () => now });
  const c = r.counter({ name: "jobs", help: "x" });
  c.inc(5);
  now = 9000;
  c.reset();
  assert.equal(c.value, 0);
  assert.match(
    await r.metrics({ format: "openmetrics" }),
    /^jobs_created 9\.0$/m,
  );
});

Deno.test("Counter.reset() forgets every series of a labelled counter", async () => {
  const r = registry();
  const c = r.counter({ name: "req", help: "x", labelNames: ["k"] });
  c.labels({ k: "a" }).inc();
  c.reset();
  assert.doesNotMatch(await r.metrics(), /req_total\{/);
});

Deno.test("A counter's collect callback runs before each scrape", async () => {
  const r = registry();
  let source = 0;
  let last = 0;
  r.counter({
    name: "mirrored_total",
    help: "x",
    collect: (c) => {
      c.inc(source - last);
      last = source;
    },
  });
  source = 4;
  assert.match(await r.metrics(), /^mirrored_total 4$/m);
  source = 10;
  assert.match(await r.metrics(), /^mirrored_total 10$/m);
});

Deno.test("Counter.inc() refuses an increment that would make the value infinite, and counts it", async () => {
  const logger = recordingLogger();
  const r = new Registry({ logger });
  try {
    const c = r.counter({ name: "bytes_total", help: "x", labelNames: ["k"] });
    const child = c.labels({ k: "a" });
    child.inc(1e308);
    child.inc(1e308);
    assert.equal(child.value, 1e308);
    child.inc(Number.MAX_VALUE);
    assert.equal(child.value, 1e308);
    child.inc(1); // still usable: a finite result is added
    const plain = r.counter({ name: "plain_total", help: "x" });
    plain.inc(Number.MAX_VALUE);
    plain.inc(Number.MAX_VALUE);
    assert.equal(plain.value, Number.MAX_VALUE);
    const text = await r.metrics();
    assert.doesNotMatch(text, /\+Inf/);
    assert.match(text, /^bytes_total\{k="a"\} 1e\+308$/m);
    assert.match(text, /^vigil_values_refused_total\{metric="bytes"\} 2$/m);
    assert.match(text, /^vigil_values_refused_total\{metric="plain"\} 1$/m);
    assert.match(
      text,
      /^# HELP vigil_values_refused_total Increments and observations refused because a counter or a sum would have become infinite$/m,
    );
    const warnings = logger.records.filter((record) => record.level === "warn");
    assert.deepEqual(warnings.map((w) => w.fields?.metric), ["bytes", "plain"]);
  } finally {
    await r.close();
  }
});

Deno.test("Counter.inc() throws TypeError for values that are not numbers, and never concatenates", async (t) => {
  const r = registry();
  try {
    const c = r.counter({ name: "jobs_total", help: "x", labelNames: ["k"] });
    const child = c.labels({ k: "a" });
    const plain = r.counter({ name: "plain_total", help: "x" });
    const cases: [unknown, string][] = [
      ["1", '"1" (got a string)'],
      ["", '"" (got a string)'],
      [null, "null (got null)"],
      [true, "true (got a boolean)"],
      [1n, "1n (got a bigint)"],
      [{}, "an object (got an object)"],
      [[1], "an array (got an array)"],
    ];
    for (const [value, stated] of cases) {
      const [shown, kind] = stated.split(" (got ");
      const message =
        `Cannot increment counter "jobs_total" by ${shown}: increments must be finite numbers and not negative, got ${
          kind!.slice(0, -1)
        }`;
      await t.step(stated, () => {
        assert.throws(() => child.inc(value as number), {
          name: "TypeError",
          message,
        });
        assert.throws(() => plain.inc(value as number), {
          name: "TypeError",
          message: message.replace('"jobs_total"', '"plain_total"'),
        });
      });
    }
    assert.equal(child.value, 0);
    assert.equal(typeof child.value, "number");
    assert.equal(plain.value, 0);
  } finally {
    await r.close();
  }
});
