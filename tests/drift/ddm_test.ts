import assert from "node:assert/strict";
import fc from "fast-check";
import { DDM, type DDMOptions } from "../../src/drift/ddm.ts";
import {
  assertResumes,
  assertSameCourse,
  binaryPrintout,
  readFixture,
  riverExamples,
  riverParams,
  run,
} from "./_river.ts";

// Everything a caller can read after an update.
function snapshot(d: DDM): unknown[] {
  return [
    d.driftDetected,
    d.warningDetected,
    d.n,
    d.p,
    d.s,
    d.pMin,
    d.sMin,
    d.score,
  ];
}

Deno.test("DDM matches River's documented example index for index", async (t) => {
  const examples = riverExamples<0 | 1>("ddm");
  assert.ok(examples.length > 0);
  for (const example of examples) {
    await t.step(example.name, () => {
      const ddm = new DDM(riverParams(example.params) as DDMOptions);
      const { warnings, drifts } = run(ddm, example.stream);
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

Deno.test("DDM matches river_ddm_doc_example.json, its stream as a bit string", () => {
  const example = readFixture("river_ddm_doc_example.json") as {
    params: Record<string, number>;
    stream: string;
    warning_indices: number[];
    drift_indices: number[];
  };
  const stream = [...example.stream].map((c) => c === "1");
  assert.equal(stream.length, 2000);
  const { warnings, drifts } = run(
    new DDM(riverParams(example.params)),
    stream,
  );
  assert.deepEqual(drifts, example.drift_indices);
  assert.deepEqual(warnings, example.warning_indices);
});

Deno.test("DDM.update() returns the state its getters report", () => {
  const example = riverExamples<0 | 1>("ddm")[0]!;
  const ddm = new DDM();
  for (const x of example.stream) {
    const state = ddm.update(x);
    assert.equal(state === "drift", ddm.driftDetected);
    assert.equal(state === "warning", ddm.warningDetected);
  }
});

Deno.test("DDM.p has the bits of River's stats.Mean, not of the exact mean", () => {
  // River adds (1 / n) * (x - mean): after these nine inputs it holds
  // 0.22222222222222224 where 2 / 9 rounds to 0.2222222222222222.
  const ddm = new DDM();
  run(ddm, [0, 1, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(ddm.p, 0.22222222222222224);
  assert.notEqual(ddm.p, 2 / 9);
});

Deno.test("DDM tests nothing during the warm-up and resets lazily after a drift", () => {
  const ddm = new DDM({ warmStart: 5 });
  // Five errors, then correct predictions: nothing is recorded up to n = 5.
  for (let i = 0; i < 5; i++) assert.equal(ddm.update(1), "stable");
  assert.equal(ddm.pMin, Infinity);
  assert.equal(ddm.score, 0);
  ddm.update(0);
  assert.equal(ddm.n, 6);
  assert.equal(ddm.pMin, 5 / 6);

  // Perfect warm-up: the first error after it is a drift.
  const perfect = new DDM({ warmStart: 5 });
  for (let i = 0; i < 6; i++) assert.equal(perfect.update(false), "stable");
  assert.equal(perfect.pMin, 0);
  assert.equal(perfect.sMin, 0);
  assert.equal(perfect.update(true), "drift");
  assert.equal(perfect.warningDetected, false);
  assert.equal(perfect.score, Infinity);
  // The statistics stay until the next update, which starts afresh.
  assert.equal(perfect.n, 7);
  assert.equal(perfect.p, 1 / 7);
  assert.equal(perfect.update(true), "stable");
  assert.equal(perfect.n, 1);
  assert.equal(perfect.p, 1);
  assert.equal(perfect.pMin, Infinity);
  assert.equal(perfect.driftDetected, false);
});

Deno.test("DDM minStd: 0 is River's behaviour, a floor survives a perfect warm-up", async (t) => {
  await t.step("default and explicit 0 give the same states", () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { maxLength: 400 }),
        fc.integer({ min: 1, max: 40 }),
        (stream, warmStart) => {
          const a = new DDM({ warmStart });
          const b = new DDM({ warmStart, minStd: 0 });
          for (const x of stream) {
            assert.equal(a.update(x), b.update(x));
            assert.deepEqual(snapshot(a), snapshot(b));
          }
        },
      ),
    );
  });

  await t.step("a perfect warm-up then one error is not a drift", () => {
    const river = new DDM();
    const floored = new DDM({ minStd: 0.05 });
    const stream = [...Array(31).fill(0), 1] as (0 | 1)[];
    assert.deepEqual(run(river, stream).drifts, [31]);
    const { drifts, warnings } = run(floored, stream);
    assert.deepEqual(drifts, []);
    assert.deepEqual(warnings, []);
    assert.equal(floored.sMin, 0, "sMin is reported without the floor");
    assert.ok(Number.isFinite(floored.score) && floored.score < 2);
  });

  await t.step("a floor still detects a real rise", () => {
    const floored = new DDM({ minStd: 0.05 });
    const stream = [
      ...Array(200).fill(0),
      ...Array(50).fill(1),
    ] as (0 | 1)[];
    assert.equal(run(floored, stream).drifts.length > 0, true);
  });
});

Deno.test("DDM.score is the threshold multiple River compares", () => {
  const example = riverExamples<0 | 1>("ddm")[0]!;
  const ddm = new DDM();
  let drifts = 0;
  for (const x of example.stream) {
    const state = ddm.update(x);
    if (ddm.n <= 30) {
      assert.equal(ddm.score, 0);
    } else if (state === "drift") {
      drifts++;
      assert.ok(ddm.score > 3);
    } else if (state === "warning") {
      assert.ok(ddm.score > 2 && ddm.score <= 3);
    } else {
      assert.ok(ddm.score <= 2);
    }
  }
  assert.equal(drifts, 1);
});

Deno.test("new DDM() rejects each invalid option, naming it and its value", async (t) => {
  const cases: [DDMOptions, string][] = [
    [{ warmStart: 0 }, "warmStart must be an integer at least 1, got 0"],
    [{ warmStart: -3 }, "warmStart must be an integer at least 1, got -3"],
    [{ warmStart: 2.5 }, "warmStart must be an integer at least 1, got 2.5"],
    [{ warmStart: NaN }, "warmStart must be an integer at least 1, got NaN"],
    [
      { warmStart: "30" as unknown as number },
      'warmStart must be an integer at least 1, got "30"',
    ],
    [
      { warningThreshold: 0 },
      "warningThreshold must be a number above 0, got 0",
    ],
    [
      { warningThreshold: Infinity },
      "warningThreshold must be a number above 0, got Infinity",
    ],
    [{ driftThreshold: -1 }, "driftThreshold must be a number above 0, got -1"],
    [{ minStd: -0.1 }, "minStd must be a number at least 0, got -0.1"],
    [{ minStd: NaN }, "minStd must be a number at least 0, got NaN"],
  ];
  for (const [options, message] of cases) {
    await t.step(message, () => {
      assert.throws(() => new DDM(options), {
        name: "RangeError",
        message: `Cannot create DDM: ${message}`,
      });
    });
  }
});

Deno.test("DDM.update() rejects anything but true, false, 1 and 0, changing nothing", () => {
  const ddm = new DDM();
  ddm.update(1);
  for (const bad of [2, -1, 0.5, "1", null, undefined, NaN]) {
    assert.throws(() => ddm.update(bad as unknown as 0), {
      name: "TypeError",
      message: /^Cannot update DDM: expected true or 1 for an error/,
    });
  }
  assert.equal(ddm.n, 1);
  assert.equal(ddm.p, 1);
});

Deno.test("DDM.reset() gives a detector that behaves as a new one", () => {
  fc.assert(
    fc.property(
      fc.array(fc.boolean(), { maxLength: 300 }),
      fc.array(fc.boolean(), { maxLength: 300 }),
      (before, after) => {
        const used = new DDM({ warmStart: 10 });
        run(used, before);
        used.reset();
        assertSameCourse(used, new DDM({ warmStart: 10 }), after, snapshot);
      },
    ),
  );
});

// Streams that drift now and then: a low error rate, then bursts.
const streams = fc.array(
  fc.tuple(fc.integer({ min: 1, max: 120 }), fc.double({ min: 0, max: 1 }))
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

Deno.test("DDM.toJSON() then fromJSON() at any point goes on exactly as never stopping", () => {
  let drifted = 0;
  fc.assert(
    fc.property(
      streams,
      fc.nat(),
      fc.record({
        warmStart: fc.integer({ min: 1, max: 40 }),
        warningThreshold: fc.double({ min: 0.5, max: 3, noNaN: true }),
        driftThreshold: fc.double({ min: 3, max: 5, noNaN: true }),
        minStd: fc.constantFrom(0, 0, 0.01, 0.1),
      }),
      (stream, cut, options) => {
        drifted += assertResumes(
          () => new DDM(options),
          (json) => DDM.fromJSON(json),
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

Deno.test("DDM.toJSON() holds kind, options and a state of numbers and booleans", () => {
  const ddm = new DDM({ warmStart: 3, minStd: 0.01 });
  assert.deepEqual(ddm.toJSON(), {
    kind: "ddm",
    options: {
      warmStart: 3,
      warningThreshold: 2,
      driftThreshold: 3,
      minStd: 0.01,
    },
    state: {
      n: 0,
      p: 0,
      pMin: -1,
      sMin: -1,
      driftDetected: false,
      warningDetected: false,
    },
  });
});

Deno.test("DDM.fromJSON() rejects what is not a DDM's state", async (t) => {
  const good = new DDM().toJSON();
  await t.step("another kind or shape", () => {
    for (const bad of [null, 42, "ddm", {}, { ...good, kind: "eddm" }]) {
      assert.throws(() => DDM.fromJSON(bad), {
        name: "TypeError",
        message:
          'Cannot restore a detector of kind "ddm": expected the toJSON() of one',
      });
    }
  });
  await t.step("a missing or wrong state field", () => {
    assert.throws(
      () => DDM.fromJSON({ ...good, state: { ...good.state, p: null } }),
      {
        name: "TypeError",
        message:
          'Cannot restore a detector of kind "ddm": state.p must be a finite number, got null',
      },
    );
    assert.throws(
      () =>
        DDM.fromJSON({
          ...good,
          state: { ...good.state, driftDetected: "no" },
        }),
      /state\.driftDetected must be a boolean, got no/,
    );
  });
  await t.step("an inconsistent state", () => {
    for (const state of [{ n: -1 }, { n: 1.5 }, { p: 2 }, { n: 40 }]) {
      assert.throws(
        () => DDM.fromJSON({ ...good, state: { ...good.state, ...state } }),
        { name: "TypeError", message: /inconsistent state/ },
      );
    }
  });
  await t.step("invalid options", () => {
    assert.throws(
      () => DDM.fromJSON({ ...good, options: { warmStart: 0 } }),
      { name: "RangeError", message: /warmStart must be/ },
    );
  });
});
