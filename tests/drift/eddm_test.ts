import assert from "node:assert/strict";
import fc from "fast-check";
import { EDDM, type EDDMOptions } from "../../src/drift/eddm.ts";
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
function snapshot(d: EDDM): unknown[] {
  return [
    d.driftDetected,
    d.warningDetected,
    d.n,
    d.errors,
    d.meanDistance,
    d.stdDistance,
    d.maxMeanPlus2Std,
    d.score,
  ];
}

// `count` errors, each one `gap` updates after the one before (the first
// `gap` updates after the start).
function every(gap: number, count: number): (0 | 1)[] {
  return Array.from(
    { length: gap * count },
    (_, i) => i % gap === gap - 1 ? 1 : 0,
  );
}

Deno.test("EDDM matches River's documented example index for index", async (t) => {
  const found = riverExamples<0 | 1>("eddm");
  assert.ok(found.length > 0);
  for (const example of found) {
    await t.step(example.name, () => {
      const eddm = new EDDM(riverParams(example.params) as EDDMOptions);
      const { warnings, drifts } = run(eddm, example.stream);
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

Deno.test("EDDM.update() returns the state its getters report", () => {
  const eddm = new EDDM({ alpha: 0.8, beta: 0.75 });
  for (const x of riverExamples<0 | 1>("eddm")[0]!.stream) {
    const state = eddm.update(x);
    assert.equal(state === "drift", eddm.driftDetected);
    assert.equal(
      state === "warning",
      eddm.warningDetected && !eddm.driftDetected,
    );
  }
});

Deno.test("EDDM keeps River's gates, distances and lazy reset", async (t) => {
  await t.step("the first distance counts from the start", () => {
    const eddm = new EDDM();
    for (const x of [0, 0, 1, 0, 1] as const) eddm.update(x);
    assert.equal(eddm.errors, 2);
    assert.equal(eddm.meanDistance, 2.5); // distances 3 and 2
    assert.equal(eddm.stdDistance, Math.sqrt(0.5));
  });

  await t.step("the statistics have the bits of River's stats.Var", () => {
    // Distances 2, 8, 5, 1, 1, 3, 8: River's running mean ends at
    // 3.9999999999999996, not 4, and its sum of squares at 56.
    const eddm = new EDDM();
    for (const distance of [2, 8, 5, 1, 1, 3, 8]) {
      for (let i = 1; i < distance; i++) eddm.update(0);
      eddm.update(1);
    }
    assert.equal(eddm.meanDistance, 3.9999999999999996);
    assert.equal(eddm.stdDistance, 3.0550504633038935);
    assert.equal(eddm.toJSON().state.sumSquares, 56);
  });

  await t.step(
    "no maximum up to update warmStart, no test up to error warmStart",
    () => {
      // warmStart 3: errors at updates 1..3 are not recorded; error 4 (at
      // update 4) records the maximum; a shorter gap is then tested.
      const eddm = new EDDM({ warmStart: 3 });
      run(eddm, [1, 1, 1]);
      assert.equal(eddm.maxMeanPlus2Std, 0);
      assert.equal(eddm.score, 1);
      eddm.update(1);
      assert.equal(eddm.maxMeanPlus2Std, 1);
      // Longer gaps raise the maximum and clear nothing.
      run(eddm, [0, 0, 0, 0, 1]);
      assert.ok(eddm.maxMeanPlus2Std > 1);
      assert.equal(eddm.score, 1);
      assert.equal(eddm.driftDetected, false);
    },
  );

  await t.step(
    "a drift keeps its warning and the next update starts afresh",
    () => {
      const eddm = new EDDM({ alpha: 0.8, beta: 0.75 });
      const example = riverExamples<0 | 1>("eddm")[0]!;
      const index = example.drift_indices[0]!;
      run(eddm, example.stream.slice(0, index + 1));
      assert.equal(eddm.driftDetected, true);
      assert.equal(eddm.warningDetected, true);
      assert.ok(eddm.score < 0.75);
      const n = eddm.n;
      assert.equal(n > 1, true);
      eddm.update(0);
      assert.equal(eddm.n, 1);
      assert.equal(eddm.errors, 0);
      assert.equal(eddm.driftDetected, false);
      assert.equal(eddm.warningDetected, false);
      assert.equal(eddm.maxMeanPlus2Std, 0);
    },
  );

  await t.step("a value equal to the maximum is tested, not recorded", () => {
    // At index 14 the distances 4, 3, 2, 2, 2, 4, 4 give mean 3 and
    // std 1: mean + 2 std is 5, the maximum. River's strict `>` tests it,
    // and a level of 1 clears the warning.
    const eddm = new EDDM({ warmStart: 3, alpha: 0.99, beta: 0.891 });
    const stream = [..."0001001010100011"].map((c) => c === "1");
    const { warnings, drifts } = run(eddm, stream);
    assert.deepEqual(warnings, [10, 11, 12, 13]);
    assert.deepEqual(drifts, []);
  });

  await t.step("a level equal to alpha or beta is not below it", () => {
    const stream = [..."00010010101"].map((c) => c === "1");
    const probe = new EDDM({ warmStart: 3, alpha: 0.99, beta: 0.5 });
    run(probe, stream);
    const level = probe.score;
    assert.ok(probe.warningDetected && level < 0.99 && level > 0.5);
    const atAlpha = new EDDM({ warmStart: 3, alpha: level, beta: 0.5 });
    run(atAlpha, stream);
    assert.equal(atAlpha.warningDetected, false);
    const atBeta = new EDDM({ warmStart: 3, alpha: 0.99, beta: level });
    run(atBeta, stream);
    assert.equal(atBeta.driftDetected, false);
    assert.equal(atBeta.warningDetected, true);
  });

  await t.step("a correct prediction changes no verdict", () => {
    const eddm = new EDDM({ alpha: 0.8, beta: 0.75 });
    let held = 0;
    for (const x of riverExamples<0 | 1>("eddm")[0]!.stream) {
      const before = [eddm.warningDetected, eddm.driftDetected];
      eddm.update(x);
      if (x === 0 && !before[1]) {
        assert.deepEqual([eddm.warningDetected, eddm.driftDetected], before);
        if (eddm.warningDetected) held++;
      }
    }
    assert.ok(held > 0);
  });

  await t.step("regular errors never drift", () => {
    const { warnings, drifts } = run(new EDDM(), every(4, 500));
    assert.deepEqual(drifts, []);
    assert.deepEqual(warnings, []);
  });

  await t.step(
    "an early first error skews the start: regular errors drift once",
    () => {
      // The first distance is 1, the others 4: the spread it adds fades,
      // and so does mean + 2 std (River drifts at 120 on this stream too).
      const stream = [1, ...every(4, 499), 0, 0, 0] as (0 | 1)[];
      assert.deepEqual(run(new EDDM(), stream).drifts, [120]);
    },
  );

  await t.step("errors coming closer drift", () => {
    const next = uniform(3);
    const stream = [
      ...Array.from({ length: 3000 }, () => next() < 0.1),
      ...Array.from({ length: 1000 }, () => next() < 0.6),
    ];
    const { drifts } = run(new EDDM({ alpha: 0.8, beta: 0.75 }), stream);
    assert.equal(drifts.length, 1);
    assert.ok(drifts[0]! > 3000);
  });
});

Deno.test("EDDM.score is the ratio River compares with alpha and beta", () => {
  const eddm = new EDDM({ alpha: 0.8, beta: 0.75 });
  let tested = 0;
  for (const x of riverExamples<0 | 1>("eddm")[0]!.stream) {
    const before = eddm.maxMeanPlus2Std;
    const state = eddm.update(x);
    const recordsMax = eddm.maxMeanPlus2Std !== before;
    if (x === 1 && eddm.errors > 30 && !recordsMax) {
      tested++;
      if (state === "drift") assert.ok(eddm.score < 0.75);
      else assert.equal(eddm.warningDetected, eddm.score < 0.8);
    }
    if (recordsMax) assert.equal(eddm.score, 1);
  }
  assert.ok(tested > 100);
});

Deno.test("new EDDM() rejects each invalid option, naming it and its value", async (t) => {
  const cases: [EDDMOptions, string][] = [
    [{ warmStart: 0 }, "warmStart must be an integer at least 1, got 0"],
    [{ warmStart: 1.5 }, "warmStart must be an integer at least 1, got 1.5"],
    [{ alpha: 1 }, "alpha must be a number above 0 and below 1, got 1"],
    [{ alpha: 0 }, "alpha must be a number above 0 and below 1, got 0"],
    [{ alpha: NaN }, "alpha must be a number above 0 and below 1, got NaN"],
    [{ beta: 0 }, "beta must be a number above 0 and below 0.95, got 0"],
    [{ beta: 0.95 }, "beta must be a number above 0 and below 0.95, got 0.95"],
    [
      { alpha: 0.5, beta: 0.6 },
      "beta must be a number above 0 and below 0.5, got 0.6",
    ],
    [
      { alpha: "0.9" as unknown as number },
      'alpha must be a number above 0 and below 1, got "0.9"',
    ],
  ];
  for (const [options, message] of cases) {
    await t.step(message, () => {
      assert.throws(() => new EDDM(options), {
        name: "RangeError",
        message: `Cannot create EDDM: ${message}`,
      });
    });
  }
});

Deno.test("EDDM.update() rejects anything but true, false, 1 and 0, changing nothing", () => {
  const eddm = new EDDM();
  eddm.update(true);
  for (const bad of [2, -1, 0.5, "0", null, undefined, {}]) {
    assert.throws(() => eddm.update(bad as unknown as 0), {
      name: "TypeError",
      message: /^Cannot update EDDM: expected true or 1 for an error/,
    });
  }
  assert.equal(eddm.n, 1);
  assert.equal(eddm.errors, 1);
});

Deno.test("EDDM.reset() gives a detector that behaves as a new one", () => {
  fc.assert(
    fc.property(
      fc.array(fc.boolean(), { maxLength: 300 }),
      fc.array(fc.boolean(), { maxLength: 300 }),
      (before, after) => {
        const used = new EDDM({ warmStart: 5 });
        run(used, before);
        used.reset();
        assertSameCourse(used, new EDDM({ warmStart: 5 }), after, snapshot);
      },
    ),
  );
});

// Streams whose error rate changes from segment to segment.
const streams = fc.array(
  fc.tuple(fc.integer({ min: 1, max: 150 }), fc.double({ min: 0, max: 1 }))
    .map(([length, rate]) => ({ length, rate })),
  { minLength: 1, maxLength: 8 },
).chain((segments) =>
  fc.tuple(
    ...segments.map(({ length, rate }) =>
      fc.array(fc.double({ min: 0, max: 1, maxExcluded: true }), {
        minLength: length,
        maxLength: length,
      }).map((us) => us.map((u) => u < rate))
    ),
  ).map((parts) => parts.flat())
);

Deno.test("EDDM.toJSON() then fromJSON() at any point goes on exactly as never stopping", () => {
  let drifted = 0;
  fc.assert(
    fc.property(
      streams,
      fc.nat(),
      fc.integer({ min: 1, max: 30 }),
      fc.double({ min: 0.5, max: 0.99, noNaN: true }),
      fc.double({ min: 0.1, max: 0.9, noNaN: true }),
      (stream, cut, warmStart, alpha, share) => {
        const options = { warmStart, alpha, beta: alpha * share };
        drifted += assertResumes(
          () => new EDDM(options),
          (json) => EDDM.fromJSON(json),
          stream,
          cut,
          snapshot,
        );
      },
    ),
    { numRuns: 300 },
  );
  // The property reached the states that matter: drifts and lazy resets.
  assert.ok(drifted > 0);
});

Deno.test("EDDM.toJSON() holds kind, options and a state of numbers and booleans", () => {
  const eddm = new EDDM({ warmStart: 2 });
  run(eddm, [0, 1, 0, 0, 1]);
  assert.deepEqual(eddm.toJSON(), {
    kind: "eddm",
    options: { warmStart: 2, alpha: 0.95, beta: 0.9 },
    state: {
      n: 5,
      lastError: 5,
      errors: 2,
      meanDistance: 2.5,
      sumSquares: 0.5,
      p2sMax: 2.5 + 2 * Math.sqrt(0.5),
      driftDetected: false,
      warningDetected: false,
    },
  });
});

Deno.test("EDDM.fromJSON() rejects what is not an EDDM's state", async (t) => {
  const good = new EDDM().toJSON();
  await t.step("another kind or shape", () => {
    for (const bad of [null, [], "eddm", { ...good, kind: "ddm" }]) {
      assert.throws(() => EDDM.fromJSON(bad), {
        name: "TypeError",
        message:
          'Cannot restore a detector of kind "eddm": expected the toJSON() of one',
      });
    }
  });
  await t.step("a missing or wrong state field", () => {
    const { sumSquares: _, ...missing } = good.state;
    assert.throws(() => EDDM.fromJSON({ ...good, state: missing }), {
      name: "TypeError",
      message:
        'Cannot restore a detector of kind "eddm": state.sumSquares must be a finite number, got undefined',
    });
  });
  await t.step("an inconsistent state", () => {
    for (
      const state of [
        { n: -1 },
        { errors: 3 },
        { n: 5, lastError: 6 },
        { n: 5, errors: 1, lastError: 0 },
        { sumSquares: -1 },
        { p2sMax: 0.5 },
      ]
    ) {
      assert.throws(
        () => EDDM.fromJSON({ ...good, state: { ...good.state, ...state } }),
        { name: "TypeError", message: /inconsistent state/ },
      );
    }
  });
  await t.step("invalid options", () => {
    assert.throws(
      () => EDDM.fromJSON({ ...good, options: { alpha: 0.5, beta: 0.7 } }),
      { name: "RangeError", message: /beta must be/ },
    );
  });
});
