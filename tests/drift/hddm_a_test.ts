import assert from "node:assert/strict";
import fc from "fast-check";
import { HDDMA, type HDDMAOptions } from "../../src/drift/hddm_a.ts";
import type { BinaryInput } from "../../src/drift/types.ts";
import { uniform } from "../_random.ts";
import {
  assertResumes,
  assertSameCourse,
  binaryPrintout,
  riverExamples,
  riverParams,
  run,
} from "./_river.ts";

// Everything a caller can read after an update.
function snapshot(d: HDDMA): unknown[] {
  return [
    d.driftDetected,
    d.warningDetected,
    d.n,
    d.mean,
    d.minN,
    d.minMean,
    d.maxN,
    d.maxMean,
    d.score,
  ];
}

function bits(...runs: [0 | 1, number][]): (0 | 1)[] {
  return runs.flatMap(([bit, count]) =>
    Array.from({ length: count }, () => bit)
  );
}

Deno.test("HDDMA matches River's documented example index for index", async (t) => {
  const found = riverExamples<0 | 1>("hddm_a");
  assert.ok(found.length > 0);
  for (const example of found) {
    await t.step(example.name, () => {
      const hddm = new HDDMA(riverParams(example.params) as HDDMAOptions);
      const { warnings, drifts } = run(hddm, example.stream);
      assert.deepEqual(drifts, example.drift_indices);
      assert.deepEqual(warnings, example.warning_indices);

      // The doctest's own printout: the first warning after each drift.
      assert.deepEqual(
        binaryPrintout({ warnings, drifts, states: [] }, example.stream.length),
        example.doc_output,
      );
    });
  }
});

Deno.test("HDDMA.update() returns the state its getters report", () => {
  for (const twoSidedTest of [false, true]) {
    const hddm = new HDDMA({ twoSidedTest });
    for (const x of riverExamples<0 | 1>("hddm_a")[0]!.stream) {
      const state = hddm.update(x);
      assert.equal(state === "drift", hddm.driftDetected);
      if (state === "warning") assert.equal(hddm.warningDetected, true);
      if (state === "stable") assert.equal(hddm.warningDetected, false);
      if (!twoSidedTest) {
        assert.ok(!(hddm.driftDetected && hddm.warningDetected));
      }
    }
  }
});

// Derived by hand from River's river/drift/binary/hddm_a.py (update(),
// _hoeffding_bound(), _mean_incr(), _mean_decr()), default confidences.
// ε(n) = sqrt(ln(1000) / (2n)) = 1.8585 / sqrt(n).
// Stream: 20 errors (0-19), then 30 correct predictions (20-49).
// - While all inputs are 1, z's mean stays exactly 1 and both cut points
//   follow z (1 + ε(n - 1) >= 1 + ε(n), 1 - ε(n - 1) <= 1 - ε(n)).
// - After j zeros, z = 20 / (20 + j) falls faster than its bound, so xMin
//   keeps following z (the increase test never runs: xMin.n = z.n), while
//   xMax stays at (20, 1): 1 - ε(20) = 0.584 > z - ε(20 + j) (0.547 at j = 1,
//   then lower).
// - The decrease test: m = j / (20 (20 + j)), the difference is
//   j / (20 + j), and difference >= sqrt(m / 2 · ln(2 / c)) squares to
//   j / (20 + j) >= ln(2 / c) / 40: 0.1498 for the warning (ln 400), first
//   met at j = 4 (j >= 3.52), index 23; 0.1900 for the drift (ln 2000),
//   first met at j = 5 (j >= 4.69), index 24. The drift is then the only
//   flag (elif), and the zeros after the reset at 25 move nothing.
// The mirror stream (20 correct, then errors) is the one-sided case: the
// same numbers with xMin at (20, 0), so the same indices.
Deno.test("HDDMA two-sided detects an improving stream, one-sided does not", async (t) => {
  const improving = bits([1, 20], [0, 30]);
  await t.step("two-sided: a warning at 23, a drift at 24", () => {
    const { warnings, drifts, states } = run(
      new HDDMA({ twoSidedTest: true }),
      improving,
    );
    assert.deepEqual(warnings, [23]);
    assert.deepEqual(drifts, [24]);
    assert.equal(states[23], "warning");
    assert.equal(states[24], "drift");
  });
  await t.step("one-sided: nothing", () => {
    const { warnings, drifts } = run(new HDDMA(), improving);
    assert.deepEqual(warnings, []);
    assert.deepEqual(drifts, []);
  });
  await t.step("the mirror, worsening, one-sided: the same indices", () => {
    const { warnings, drifts } = run(new HDDMA(), bits([0, 20], [1, 30]));
    assert.deepEqual(warnings, [23]);
    assert.deepEqual(drifts, [24]);
  });
});

// River's update() sets the increase test's flags, then the two-sided test
// only ever sets flags to true: a decrease drift leaves an increase warning
// standing. Stream 4 × 0, 19 × 1, 8 × 0, warningConfidence 0.1: xMin stays
// at (4, 0) and xMax at (23, 19/23) once the zeros come back. At index 30
// (z.n = 31, z = 19/31), River's formulas give z - xMin = 0.613, between
// the warning bound 0.571 and the drift bound 0.910 (a warning), and
// xMax - z = 0.213 >= 0.206, the decrease's drift bound (a drift); at 29
// it was 0.193 < 0.196.
Deno.test("HDDMA two-sided: a decrease's drift keeps the increase's warning", () => {
  const hddm = new HDDMA({ twoSidedTest: true, warningConfidence: 0.1 });
  const { states, drifts } = run(hddm, bits([0, 4], [1, 19], [0, 8]));
  assert.deepEqual(drifts, [30]);
  assert.equal(states[29], "warning");
  assert.equal(states[30], "drift");
  assert.equal(hddm.warningDetected, true);
  assert.equal(hddm.minN, 4);
  assert.equal(hddm.maxN, 23);
});

Deno.test("HDDMA starts its cut points from the first mean and resets lazily after a drift", () => {
  const hddm = new HDDMA();
  assert.deepEqual(snapshot(hddm), [false, false, 0, 0, 0, 0, 0, 0, 0]);
  hddm.update(true);
  assert.deepEqual(snapshot(hddm), [false, false, 1, 1, 1, 1, 1, 1, 0]);

  const worsening = new HDDMA();
  run(worsening, bits([0, 20], [1, 5]));
  assert.equal(worsening.driftDetected, true);
  // The statistics stay until the next update, which starts afresh.
  assert.equal(worsening.n, 25);
  assert.equal(worsening.minN, 20);
  assert.equal(worsening.minMean, 0);
  assert.equal(worsening.score, worsening.mean);
  assert.ok(Math.abs(worsening.mean - 0.2) < 1e-12);
  assert.equal(worsening.update(0), "stable");
  assert.deepEqual(snapshot(worsening), [false, false, 1, 0, 1, 0, 1, 0, 0]);
});

// River moves both cut points with the Hoeffding bound at drift_confidence,
// never at warning_confidence. After [0, 1]: z = (2, 0.5), xMin = (1, 0),
// and xMin moves to z when 0 + ε(1) >= 0.5 + ε(2), with
// ε(n) = sqrt(ln(1 / c) / (2n)). At c = 0.001: 1.8585 >= 1.8142, it moves;
// at c = 0.005 (the warning default): 1.6276 < 1.6509, and at c = 0.1:
// 1.0730 < 1.2587, it stays. [1, 0] mirrors it for xMax.
Deno.test("HDDMA moves its cut points with the drift confidence's bound", () => {
  const river = new HDDMA();
  run(river, [0, 1]);
  assert.deepEqual([river.minN, river.minMean], [2, 0.5]);
  const loose = new HDDMA({ driftConfidence: 0.1 });
  run(loose, [0, 1]);
  assert.deepEqual([loose.minN, loose.minMean], [1, 0]);
  const mirror = new HDDMA();
  run(mirror, [1, 0]);
  assert.deepEqual([mirror.maxN, mirror.maxMean], [2, 0.5]);
  const looseMirror = new HDDMA({ driftConfidence: 0.1 });
  run(looseMirror, [1, 0]);
  assert.deepEqual([looseMirror.maxN, looseMirror.maxMean], [1, 1]);
});

Deno.test("HDDMA.score is the difference of means River tests", () => {
  const stream = riverExamples<0 | 1>("hddm_a")[0]!.stream;
  for (const twoSidedTest of [false, true]) {
    const hddm = new HDDMA({ twoSidedTest });
    for (const x of stream) {
      hddm.update(x);
      const rise = hddm.mean - hddm.minMean;
      assert.equal(
        hddm.score,
        twoSidedTest ? Math.max(rise, hddm.maxMean - hddm.mean) : rise,
      );
    }
  }
});

Deno.test("HDDMA checks its options, naming the option and the value", async (t) => {
  const cases: [HDDMAOptions, RegExp][] = [
    [
      { driftConfidence: 0 },
      /driftConfidence must be a number above 0 and below 1, got 0/,
    ],
    [{ driftConfidence: 1 }, /driftConfidence .* got 1$/],
    [{ driftConfidence: -0.1 }, /driftConfidence .* got -0\.1/],
    [{ driftConfidence: NaN }, /driftConfidence .* got NaN/],
    [
      { warningConfidence: 1.5 },
      /warningConfidence must be a number above 0 and below 1, got 1\.5/,
    ],
    [{ warningConfidence: 0 }, /warningConfidence .* got 0/],
    [
      { warningConfidence: "0.005" as unknown as number },
      /warningConfidence .* got "0\.005"/,
    ],
  ];
  for (const [options, message] of cases) {
    await t.step(JSON.stringify(options) ?? String(options), () => {
      assert.throws(() => new HDDMA(options), (error: unknown) => {
        assert.ok(error instanceof RangeError);
        assert.match(error.message, /^Cannot create HDDMA: /);
        assert.match(error.message, message);
        return true;
      });
    });
  }
  for (const bad of ["true", 1, 0]) {
    await t.step(`twoSidedTest: ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => new HDDMA({ twoSidedTest: bad as unknown as boolean }),
        (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.equal(
            error.message,
            `Cannot create HDDMA: twoSidedTest must be a boolean, got ${
              JSON.stringify(bad)
            }`,
          );
          return true;
        },
      );
    });
  }
});

Deno.test("HDDMA.update() accepts true, false, 1 and 0 only", () => {
  const hddm = new HDDMA();
  for (const bad of [2, -1, 0.5, NaN, "1", null, undefined, [1]]) {
    assert.throws(
      () => hddm.update(bad as BinaryInput),
      (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(
          error.message,
          /^Cannot update HDDMA: expected true or 1 for an error, false or 0 for a correct prediction, got /,
        );
        return true;
      },
    );
  }
  assert.equal(hddm.n, 0, "a refused input changes nothing");
  // Booleans and numbers are the same inputs.
  const a = new HDDMA();
  const b = new HDDMA();
  const stream = riverExamples<0 | 1>("hddm_a")[0]!.stream;
  assert.deepEqual(run(a, stream), run(b, stream.map((x) => x === 1)));
});

Deno.test("HDDMA.reset() gives a new detector's state and future", () => {
  const stream = riverExamples<0 | 1>("hddm_a")[0]!.stream;
  const used = new HDDMA({ twoSidedTest: true });
  run(used, stream.slice(0, 1100));
  assert.ok(used.n > 0);
  used.reset();
  assertSameCourse(used, new HDDMA({ twoSidedTest: true }), stream, snapshot);
});

// Error rates that fall and rise in turn every few dozen inputs, so that
// drifts and warnings come often (seeded bits for each segment).
const streams = fc.array(
  fc.record({
    rate: fc.double({ min: 0, max: 0.4, noNaN: true }),
    length: fc.integer({ min: 10, max: 150 }),
    seed: fc.integer(),
  }),
  { minLength: 1, maxLength: 6 },
).map((segments) =>
  segments.flatMap(({ rate, length, seed }, k) => {
    const next = uniform(seed);
    const p = k % 2 === 0 ? rate : 1 - rate;
    return Array.from({ length }, () => next() < p ? 1 : 0);
  })
);

const optionsArbitrary: fc.Arbitrary<HDDMAOptions> = fc.record({
  driftConfidence: fc.constantFrom(0.001, 0.01, 0.05),
  warningConfidence: fc.constantFrom(0.005, 0.05, 0.2),
  twoSidedTest: fc.boolean(),
});

Deno.test("HDDMA.toJSON()/fromJSON() at any point goes on exactly as without a stop", () => {
  let drifts = 0;
  fc.assert(
    fc.property(optionsArbitrary, streams, fc.nat(), (options, stream, at) => {
      drifts += assertResumes(
        () => new HDDMA(options),
        (json) => HDDMA.fromJSON(json),
        stream,
        at,
        snapshot,
      );
    }),
    { numRuns: 300 },
  );
  assert.ok(drifts > 100, `the streams drift often enough (${drifts})`);
});

Deno.test("HDDMA.fromJSON() restores one stopped on a drift", () => {
  const stream = bits([0, 20], [1, 30]);
  const whole = new HDDMA();
  run(whole, stream.slice(0, 25));
  assert.equal(whole.driftDetected, true);
  const restored = HDDMA.fromJSON(JSON.parse(JSON.stringify(whole)));
  assert.equal(restored.driftDetected, true);
  assert.deepEqual(
    run(restored, stream.slice(25)),
    run(whole, stream.slice(25)),
  );
  assert.equal(restored.n, 25);
});

Deno.test("HDDMA.fromJSON() refuses what is not its state", async (t) => {
  const good = new HDDMA();
  run(good, [1, 0, 0, 1]);
  const json = good.toJSON();
  const cases: [string, unknown][] = [
    ["null", null],
    ["another kind", { ...json, kind: "page_hinkley" }],
    ["no options", { kind: "hddm_a", state: json.state }],
    ["a missing mean", { ...json, state: { ...json.state, mean: undefined } }],
    ["a mean above 1", { ...json, state: { ...json.state, mean: 1.5 } }],
    ["a cut point past n", { ...json, state: { ...json.state, minN: 5 } }],
    ["a fractional count", { ...json, state: { ...json.state, maxN: 1.5 } }],
    ["no cut point after updates", {
      ...json,
      state: { ...json.state, minN: 0 },
    }],
    ["one-sided drift and warning", {
      ...json,
      state: { ...json.state, driftDetected: true, warningDetected: true },
    }],
    ["a string flag", {
      ...json,
      state: { ...json.state, warningDetected: "no" },
    }],
  ];
  for (const [name, value] of cases) {
    await t.step(name, () => {
      assert.throws(() => HDDMA.fromJSON(value), TypeError);
    });
  }
  await t.step(
    "bad options are a RangeError or TypeError as in the constructor",
    () => {
      assert.throws(
        () =>
          HDDMA.fromJSON({
            ...json,
            options: { ...json.options, driftConfidence: 2 },
          }),
        RangeError,
      );
      assert.throws(
        () =>
          HDDMA.fromJSON({
            ...json,
            options: { ...json.options, twoSidedTest: "yes" },
          }),
        TypeError,
      );
    },
  );
});

// stats.Mean adds (w / n) · (x - mean); the textbook (x - mean) / n rounds
// differently. CPython, running River's formula on this stream, ends at
// 0.18181818181818182; the other order gives 0.18181818181818185.
Deno.test("HDDMA's mean has the bits of River's stats.Mean", () => {
  const hddm = new HDDMA();
  for (const x of [0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0] as const) hddm.update(x);
  assert.equal(hddm.mean, 0.18181818181818182);
});
