import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/mod.ts";
import { recordingLogger } from "../_tools.ts";

Deno.test("Gauge.set(), inc() and dec() move the value both ways", () => {
  const g = new Registry({ logger: recordingLogger() }).gauge({
    name: "g",
    help: "x",
  });
  g.set(10);
  g.inc();
  g.inc(2.5);
  g.dec(4);
  assert.equal(g.value, 9.5);
  g.set(-3);
  assert.equal(g.value, -3);
  g.set(NaN);
  assert.ok(Number.isNaN(g.value));
});

Deno.test("Gauge rejects amounts that are not finite numbers", () => {
  const g = new Registry({ logger: recordingLogger() }).gauge({
    name: "g",
    help: "x",
    labelNames: ["k"],
  });
  const child = g.labels({ k: "a" });
  assert.throws(() => child.inc(NaN), {
    name: "RangeError",
    message: /Cannot increment gauge "g" by NaN/,
  });
  assert.throws(() => child.dec(Infinity), {
    name: "RangeError",
    message: /Cannot decrement gauge "g" by Infinity/,
  });
  assert.throws(() => child.set("1" as unknown as number), {
    name: "TypeError",
    message:
      /^Cannot set gauge "g" to "1": the value must be a number, got a string$/,
  });
  assert.equal(child.value, 0);
});

Deno.test("Gauge.setToCurrentTime() and startTimer() measure time", async () => {
  const g = new Registry({ logger: recordingLogger() }).gauge({
    name: "g",
    help: "x",
  });
  const before = Date.now() / 1000;
  g.setToCurrentTime();
  assert.ok(g.value >= before && g.value <= Date.now() / 1000);
  const end = g.startTimer();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = end();
  assert.equal(g.value, seconds);
  assert.ok(seconds > 0);
});

Deno.test("Gauge collect callbacks run at scrape time, async ones included", async () => {
  const r = new Registry({ logger: recordingLogger() });
  let depth = 1;
  r.gauge({ name: "sync_depth", help: "x", collect: (g) => g.set(depth) });
  r.gauge({
    name: "async_depth",
    help: "x",
    labelNames: ["queue"],
    collect: async (g) => {
      await Promise.resolve();
      g.labels({ queue: "a" }).set(depth * 2);
    },
  });
  depth = 7;
  const text = await r.metrics();
  assert.match(text, /^sync_depth 7$/m);
  assert.match(text, /^async_depth\{queue="a"\} 14$/m);
});

Deno.test("A failing collect callback keeps the last values, is counted and logged once", async () => {
  const logger = recordingLogger();
  const r = new Registry({ logger });
  let fail = false;
  r.gauge({
    name: "flaky",
    help: "x",
    collect: (g) => {
      if (fail) throw new Error("source down");
      g.set(5);
    },
  });
  r.gauge({
    name: "rejecting",
    help: "x",
    collect: () => Promise.reject(new TypeError("nope")),
  });
  await r.metrics();
  fail = true;
  await r.metrics();
  const text = await r.metrics();
  assert.match(text, /^flaky 5$/m);
  assert.match(text, /^vigil_collect_errors_total\{metric="flaky"\} 2$/m);
  assert.match(text, /^vigil_collect_errors_total\{metric="rejecting"\} 3$/m);
  const warnings = logger.records.filter((record) => record.level === "warn");
  assert.deepEqual(warnings.map((w) => w.fields?.metric), [
    "rejecting",
    "flaky",
  ]);
  assert.equal((warnings[1]?.fields?.error as Error).message, "source down");
});

Deno.test("Gauge.reset() and remove() manage series", async () => {
  const r = new Registry({ logger: recordingLogger() });
  const g = r.gauge({ name: "g", help: "x", labelNames: ["k"] });
  g.labels({ k: "a" }).set(1);
  g.labels({ k: "b" }).set(2);
  assert.equal(g.remove({ k: "a" }), true);
  assert.doesNotMatch(await r.metrics(), /k="a"/);
  g.reset();
  assert.doesNotMatch(await r.metrics(), /^g\{/m);
  const plain = r.gauge({ name: "plain", help: "x" });
  plain.set(4);
  plain.reset();
  assert.equal(plain.value, 0);
});

Deno.test("Gauge.set() takes infinities and NaN; inc() and dec() past finite are refused and counted", async () => {
  const logger = recordingLogger();
  const r = new Registry({ logger });
  try {
    const g = r.gauge({ name: "g", help: "x", labelNames: ["k"] });
    const child = g.labels({ k: "a" });
    child.set(Number.MAX_VALUE);
    child.inc(Number.MAX_VALUE);
    assert.equal(child.value, Number.MAX_VALUE);
    child.set(-Number.MAX_VALUE);
    child.dec(Number.MAX_VALUE);
    assert.equal(child.value, -Number.MAX_VALUE);
    child.inc(Number.MAX_VALUE); // a finite result is fine
    assert.equal(child.value, 0);
    const plain = r.gauge({ name: "plain", help: "x" });
    plain.set(Infinity); // a gauge states a value: allowed, written +Inf
    plain.inc(); // stays +Inf, nothing refused
    assert.equal(plain.value, Infinity);
    plain.set(NaN);
    plain.dec();
    assert.ok(Number.isNaN(plain.value));
    plain.set(-Infinity);
    const text = await r.metrics();
    assert.match(text, /^plain -Inf$/m);
    assert.match(text, /^vigil_values_refused_total\{metric="g"\} 2$/m);
    assert.doesNotMatch(text, /vigil_values_refused_total\{metric="plain"\}/);
    assert.equal(
      logger.records.filter((record) => record.level === "warn").length,
      1,
    );
  } finally {
    await r.close();
  }
});

Deno.test("Gauge methods throw TypeError for strings, RangeError for non-finite amounts", async (t) => {
  const r = new Registry({ logger: recordingLogger() });
  try {
    const g = r.gauge({ name: "g", help: "x", labelNames: ["k"] });
    const child = g.labels({ k: "a" });
    const plain = r.gauge({ name: "plain", help: "x" });
    // Typed apart: a call on a union of the two would fail type-checking
    // (the label-less methods carry a `this` type).
    const targets: Pick<typeof child, "set" | "inc" | "dec">[] = [
      child,
      plain,
    ];
    await t.step("set", () => {
      for (const target of targets) {
        assert.throws(() => target.set("2" as unknown as number), {
          name: "TypeError",
          message:
            /^Cannot set gauge "(g|plain)" to "2": the value must be a number, got a string$/,
        });
      }
    });
    for (const verb of ["inc", "dec"] as const) {
      const word = verb === "inc" ? "increment" : "decrement";
      await t.step(verb, () => {
        for (const target of targets) {
          assert.throws(() => target[verb]("1" as unknown as number), {
            name: "TypeError",
            message: new RegExp(
              `^Cannot ${word} gauge "(g|plain)" by "1": the amount must be a finite number, got a string$`,
            ),
          });
          assert.throws(() => target[verb](-Infinity), {
            name: "RangeError",
            message: new RegExp(
              `^Cannot ${word} gauge "(g|plain)" by -Infinity: the amount must be a finite number$`,
            ),
          });
        }
      });
    }
    assert.equal(child.value, 0);
    assert.equal(plain.value, 0);
  } finally {
    await r.close();
  }
});
