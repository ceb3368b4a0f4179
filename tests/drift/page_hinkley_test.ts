import assert from "node:assert/strict";
import fc from "fast-check";
import {
  PageHinkley,
  type PageHinkleyOptions,
} from "../../src/drift/page_hinkley.ts";
import {
  assertResumes,
  assertSameCourse,
  riverExamples,
  riverParams,
  run,
} from "./_river.ts";

// Everything a caller can read after an update.
function snapshot(d: PageHinkley): unknown[] {
  return [
    d.driftDetected,
    d.warningDetected,
    d.n,
    d.mean,
    d.sumIncrease,
    d.minIncrease,
    d.sumDecrease,
    d.maxDecrease,
    d.score,
  ];
}

function repeat(value: number, count: number): number[] {
  return Array.from({ length: count }, () => value);
}

Deno.test("PageHinkley matches River's documented example index for index", async (t) => {
  const found = riverExamples("page_hinkley");
  assert.ok(found.length > 0);
  for (const example of found) {
    await t.step(example.name, () => {
      const ph = new PageHinkley(
        riverParams(example.params) as PageHinkleyOptions,
      );
      const { warnings, drifts } = run(ph, example.stream);
      assert.deepEqual(drifts, example.drift_indices);
      assert.deepEqual(warnings, example.warning_indices);
      // The doctest's own printout.
      assert.deepEqual(
        drifts.map((i) =>
          `Change detected at index ${i}, input value: ${example.stream[i]}`
        ),
        example.doc_output,
      );
    });
  }
});

Deno.test("PageHinkley.update() returns the state its getters report", () => {
  const ph = new PageHinkley({ threshold: 5, minInstances: 5 });
  let drifts = 0;
  for (const x of riverExamples("page_hinkley")[0]!.stream) {
    const state = ph.update(x);
    assert.equal(state === "drift", ph.driftDetected);
    assert.notEqual(state, "warning");
    assert.equal(ph.warningDetected, false);
    if (state === "drift") drifts++;
  }
  assert.ok(drifts > 1);
});

// The expected indices below are derived by hand from River's
// river/drift/page_hinkley.py (update() and _reset()) with alpha 1 and
// delta 0, so that the sums are plain sums of x - mean. A constant run
// keeps the mean exactly at its value (stats.Mean adds (1/n)·0), so the
// deviations and sums are 0 there.
//
// Stream: 40 × 10 (indices 0-39), 40 × 0 (40-79), 40 × 20 (80-119).
// - Down at 40: after j zeros the mean is 400/(40 + j), so the deviations
//   are -400/(40 + i) and D_max - D = 400 · Σ_{i<=j} 1/(40 + i). It passes
//   50 when the sum passes 0.125: 0.1164 at j = 5, 0.1382 at j = 6, so at
//   index 45. U falls with D, U_min follows it, and U - U_min stays 0.
// - Up at 80 after a reset at index 46 (34 zeros, mean 0): the deviations
//   are 680/(34 + i), U - U_min = 680 · Σ 1/(34 + i) passes 50 when the sum
//   passes 0.0735: 0.0563 at j = 2, 0.0834 at j = 3, so at index 82.
// - Up at 80 without a reset (mode "up" ignored the step down): U_min is U
//   at index 79, the deviations are 1200/(80 + i), and the sum passes
//   1/24 = 0.0417 at j = 4 (0.0366, then 0.0485): index 83.
// n is at least 30 at each of them, so the warm-up gate never holds one back.
Deno.test("PageHinkley modes: a step down, then a step up", async (t) => {
  const stream = [...repeat(10, 40), ...repeat(0, 40), ...repeat(20, 40)];
  const options = { delta: 0, alpha: 1 } as const;

  await t.step("up: only the step up, from the state before it", () => {
    const { drifts } = run(new PageHinkley({ ...options, mode: "up" }), stream);
    assert.deepEqual(drifts, [83]);
  });
  await t.step("down: only the step down", () => {
    const { drifts } = run(
      new PageHinkley({ ...options, mode: "down" }),
      stream,
    );
    assert.deepEqual(drifts, [45]);
  });
  await t.step("both: the step down, then the step up after a reset", () => {
    const { drifts, warnings } = run(new PageHinkley(options), stream);
    assert.deepEqual(drifts, [45, 82]);
    assert.deepEqual(warnings, []);
  });
  await t.step("the same indices with River's default alpha and delta", () => {
    // The margins above (0.116 < 0.125 < 0.138, ...) are far wider than
    // what delta 0.005 and alpha 0.9999 move over 40 updates.
    for (
      const [mode, expected] of [
        ["up", [83]],
        ["down", [45]],
        ["both", [45, 82]],
      ] as const
    ) {
      assert.deepEqual(run(new PageHinkley({ mode }), stream).drifts, expected);
    }
  });
});

// From River's source: the test runs once stats.Mean's n >= min_instances.
// After 5 × 10 and j zeros, D_max - D = 50 · Σ_{i<=j} 1/(5 + i), past 50
// (the sum past 1) from j = 10 (index 14) and growing while the mean decays,
// but n only reaches 30 at index 29: the drift waits for it.
Deno.test("PageHinkley holds a drift back until n reaches minInstances", () => {
  const ph = new PageHinkley({ delta: 0, alpha: 1 });
  const { drifts } = run(ph, [...repeat(10, 5), ...repeat(0, 40)]);
  assert.deepEqual(drifts, [29]);

  const early = new PageHinkley({ delta: 0, alpha: 1 });
  run(early, [...repeat(10, 5), ...repeat(0, 10)]);
  assert.equal(early.n, 15);
  assert.ok(early.score > 50, "past the threshold during the warm-up");
  assert.equal(early.driftDetected, false);
});

// River compares `test > threshold`, strictly. With [0, 2]: the mean goes
// 0, then 0 + (1/2)·2 = 1 exactly, the deviation is 1, U = 1, U_min = 0,
// so U - U_min = 1, equal to the threshold: no drift. The next 2 makes the
// mean 4/3 and U = 1 + 2/3: a drift.
Deno.test("PageHinkley's threshold is strict: reaching it is not a drift", () => {
  const ph = new PageHinkley({
    minInstances: 1,
    delta: 0,
    alpha: 1,
    threshold: 1,
    mode: "up",
  });
  assert.equal(ph.update(0), "stable");
  assert.equal(ph.update(2), "stable");
  assert.equal(ph.score, 1);
  assert.equal(ph.update(2), "drift");
});

Deno.test("PageHinkley starts from River's extrema and resets lazily after a drift", () => {
  const ph = new PageHinkley({ minInstances: 1, threshold: 1, delta: 0.5 });
  // River's _reset(): +Infinity below, -1 above.
  assert.equal(ph.minIncrease, Infinity);
  assert.equal(ph.maxDecrease, -1);
  assert.equal(ph.score, 0);
  assert.equal(ph.n, 0);

  // The first deviation is 0: U = -delta, D = +delta replace both.
  ph.update(3);
  assert.equal(ph.mean, 3);
  assert.equal(ph.sumIncrease, -0.5);
  assert.equal(ph.minIncrease, -0.5);
  assert.equal(ph.sumDecrease, 0.5);
  assert.equal(ph.maxDecrease, 0.5);

  // A big jump: a drift, whose statistics stay until the next update.
  assert.equal(ph.update(13), "drift");
  assert.equal(ph.n, 2);
  assert.equal(ph.mean, 8);
  assert.equal(ph.sumIncrease, 0.9999 * -0.5 + 5 - 0.5);
  assert.equal(ph.score, ph.sumIncrease - ph.minIncrease);
  assert.equal(ph.update(13), "stable");
  assert.equal(ph.n, 1);
  assert.equal(ph.mean, 13);
  assert.equal(ph.minIncrease, -0.5);
});

Deno.test("PageHinkley.score is the statistic River compares in the mode", () => {
  const stream = [...repeat(10, 40), ...repeat(0, 40), ...repeat(20, 40)];
  for (const mode of ["up", "down", "both"] as const) {
    const ph = new PageHinkley({ mode, minInstances: 1, threshold: 1e9 });
    for (const x of stream) {
      ph.update(x);
      const up = ph.sumIncrease - ph.minIncrease;
      const down = ph.maxDecrease - ph.sumDecrease;
      const expected = mode === "up"
        ? up
        : mode === "down"
        ? down
        : Math.max(up, down);
      assert.equal(ph.score, expected);
      assert.ok(ph.score >= 0);
    }
  }
});

Deno.test("PageHinkley checks its options, naming the option and the value", async (t) => {
  const cases: [PageHinkleyOptions, RegExp][] = [
    [{ minInstances: 0 }, /minInstances must be an integer at least 1, got 0/],
    [{ minInstances: 2.5 }, /minInstances .* got 2\.5/],
    [{ minInstances: NaN }, /minInstances .* got NaN/],
    [{ delta: -0.1 }, /delta must be a number at least 0, got -0\.1/],
    [{ delta: Infinity }, /delta .* got Infinity/],
    [{ threshold: 0 }, /threshold must be a number above 0, got 0/],
    [{ threshold: -5 }, /threshold .* got -5/],
    [{ alpha: 0 }, /alpha must be a number above 0 and at most 1, got 0/],
    [{ alpha: 1.5 }, /alpha .* got 1\.5/],
    [
      { mode: "sideways" as "up" },
      /mode must be "up", "down" or "both", got "sideways"/,
    ],
    [{ mode: "UP" as "up" }, /mode .* got "UP"/],
    [{ mode: 1 as unknown as "up" }, /mode .* got 1/],
  ];
  for (const [options, message] of cases) {
    await t.step(JSON.stringify(options) ?? String(options), () => {
      assert.throws(() => new PageHinkley(options), (error: unknown) => {
        assert.ok(error instanceof RangeError);
        assert.match(error.message, /^Cannot create PageHinkley: /);
        assert.match(error.message, message);
        return true;
      });
    });
  }
  await t.step("a string for a number", () => {
    assert.throws(
      () => new PageHinkley({ threshold: "50" as unknown as number }),
      { name: "RangeError", message: /threshold .* got "50"/ },
    );
  });
  await t.step("the limits themselves are accepted", () => {
    new PageHinkley({ minInstances: 1, delta: 0, alpha: 1, threshold: 1e-9 });
  });
});

Deno.test("PageHinkley.update() accepts finite numbers only", () => {
  const ph = new PageHinkley();
  for (const bad of [NaN, Infinity, -Infinity, "1", null, undefined, true]) {
    assert.throws(
      () => ph.update(bad as number),
      (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(
          error.message,
          /^Cannot update PageHinkley: expected a finite number, got /,
        );
        return true;
      },
    );
  }
  assert.equal(ph.n, 0, "a refused value changes nothing");
  ph.update(-1e300);
  ph.update(0);
  assert.equal(ph.n, 2);
});

Deno.test("PageHinkley.reset() gives a new detector's state and future", () => {
  const stream = [...repeat(10, 40), ...repeat(0, 40), ...repeat(20, 40)];
  const used = new PageHinkley({ mode: "up", threshold: 20 });
  run(used, stream.slice(0, 70));
  assert.ok(used.n > 0);
  used.reset();
  assertSameCourse(
    used,
    new PageHinkley({ mode: "up", threshold: 20 }),
    stream,
    snapshot,
  );
});

// Noisy segments that step up and down by at least 10 in turn, so that
// drifts come often.
const streams = fc.array(
  fc.record({
    step: fc.double({ min: 5, max: 50, noNaN: true }),
    spread: fc.double({ min: 0, max: 10, noNaN: true }),
    length: fc.integer({ min: 1, max: 80 }),
    seed: fc.integer(),
  }),
  { minLength: 1, maxLength: 6 },
).map((segments) =>
  segments.flatMap(({ step, spread, length, seed }, k) =>
    Array.from(
      { length },
      (_, i) => (k % 2 === 0 ? step : -step) + spread * Math.sin(seed + i),
    )
  )
);

const optionsArbitrary: fc.Arbitrary<PageHinkleyOptions> = fc.record({
  minInstances: fc.integer({ min: 1, max: 40 }),
  delta: fc.constantFrom(0, 0.005, 0.5),
  threshold: fc.constantFrom(1, 5, 20),
  alpha: fc.constantFrom(1, 1 - 0.0001, 0.99, 0.5),
  mode: fc.constantFrom("up", "down", "both") as fc.Arbitrary<
    "up" | "down" | "both"
  >,
});

Deno.test("PageHinkley.toJSON()/fromJSON() at any point goes on exactly as without a stop", () => {
  let drifts = 0;
  fc.assert(
    fc.property(
      optionsArbitrary,
      streams,
      fc.nat(),
      (options, stream, at) => {
        drifts += assertResumes(
          () => new PageHinkley(options),
          (json) => PageHinkley.fromJSON(json),
          stream,
          at,
          snapshot,
        );
      },
    ),
    { numRuns: 300 },
  );
  assert.ok(drifts > 100, `the streams drift often enough (${drifts})`);
});

Deno.test("PageHinkley.fromJSON() restores a fresh detector and one stopped on a drift", () => {
  const fresh = PageHinkley.fromJSON(
    JSON.parse(JSON.stringify(new PageHinkley({ mode: "down" }))),
  );
  assert.equal(fresh.minIncrease, Infinity);
  assert.equal(fresh.maxDecrease, -1);
  assert.equal(fresh.toJSON().options.mode, "down");

  const stream = [...repeat(10, 40), ...repeat(0, 40)];
  const whole = new PageHinkley({ delta: 0, alpha: 1 });
  run(whole, stream.slice(0, 46));
  assert.equal(whole.driftDetected, true);
  const restored = PageHinkley.fromJSON(JSON.parse(JSON.stringify(whole)));
  assert.equal(restored.driftDetected, true);
  assert.deepEqual(
    run(restored, stream.slice(46)),
    run(whole, stream.slice(46)),
  );
  assert.equal(restored.n, 34);
});

Deno.test("PageHinkley.fromJSON() refuses what is not its state", async (t) => {
  const good = new PageHinkley();
  good.update(1);
  good.update(2);
  const json = good.toJSON();
  const cases: [string, unknown][] = [
    ["null", null],
    ["another kind", { ...json, kind: "hddm_a" }],
    ["no state", { kind: "page_hinkley", options: {} }],
    ["a missing number", {
      ...json,
      state: { ...json.state, mean: undefined },
    }],
    ["a null sum", { ...json, state: { ...json.state, sumIncrease: null } }],
    ["a fractional n", { ...json, state: { ...json.state, n: 1.5 } }],
    ["a minimum above the sum", {
      ...json,
      state: { ...json.state, minIncrease: 1e9 },
    }],
    ["a drift during the warm-up", {
      ...json,
      state: { ...json.state, driftDetected: true },
    }],
    ["a string flag", {
      ...json,
      state: { ...json.state, driftDetected: "no" },
    }],
  ];
  for (const [name, value] of cases) {
    await t.step(name, () => {
      assert.throws(() => PageHinkley.fromJSON(value), TypeError);
    });
  }
  await t.step("bad options are a RangeError", () => {
    assert.throws(
      () =>
        PageHinkley.fromJSON({
          ...json,
          options: { ...json.options, alpha: 2 },
        }),
      RangeError,
    );
  });
});

// stats.Mean adds (w / n) · (x - mean); the textbook (x - mean) / n rounds
// differently. CPython, running River's formula on this stream, ends at
// 4.02; the other order gives 4.0200000000000005.
Deno.test("PageHinkley's mean has the bits of River's stats.Mean", () => {
  const ph = new PageHinkley();
  for (const x of [4.5, 6.5, 7.9, 0.9, 0.3]) ph.update(x);
  assert.equal(ph.mean, 4.02);
});
