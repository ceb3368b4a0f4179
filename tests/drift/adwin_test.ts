import assert from "node:assert/strict";
import fc from "fast-check";
import { ADWIN, type ADWINOptions } from "../../src/drift/adwin.ts";
import {
  assertSameCourse,
  readFixture,
  type RiverExample,
  run,
} from "./_river.ts";

// MT19937, as CPython's `random` and NumPy's legacy `RandomState` use it,
// so that River's seeded test streams are rebuilt value for value.
class MersenneTwister {
  #mt = new Uint32Array(624);
  #index = 624;

  // init_genrand: NumPy's `np.random.seed(int)`.
  static fromInt(seed: number): MersenneTwister {
    const twister = new MersenneTwister();
    twister.#init(seed);
    return twister;
  }

  // init_by_array: CPython's `random.Random(int)`, the key being the
  // seed's 32-bit words, least significant first.
  static fromKey(key: readonly number[]): MersenneTwister {
    const twister = new MersenneTwister();
    const mt = twister.#mt;
    twister.#init(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      const previous = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(previous, 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= 624) {
        mt[0] = mt[623]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      const previous = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(previous, 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) {
        mt[0] = mt[623]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    return twister;
  }

  #init(seed: number): void {
    const mt = this.#mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const previous = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(1812433253, previous) + i) >>> 0;
    }
    this.#index = 624;
  }

  // genrand_int32.
  next(): number {
    const mt = this.#mt;
    if (this.#index >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % 624]! & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.#index = 0;
    }
    let y = mt[this.#index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

// CPython's random.Random with an int seed: random(), choices() and gauss().
class PythonRandom {
  readonly #twister: MersenneTwister;
  #gaussNext: number | null = null;

  constructor(seed: number) {
    // Seeds below 2^32: a key of one word.
    this.#twister = MersenneTwister.fromKey([seed]);
  }

  random(): number {
    const a = this.#twister.next() >>> 5;
    const b = this.#twister.next() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  choices<T>(population: readonly T[], k: number): T[] {
    const n = population.length;
    return Array.from(
      { length: k },
      () => population[Math.floor(this.random() * n)]!,
    );
  }

  gauss(mu: number, sigma: number): number {
    let z = this.#gaussNext;
    this.#gaussNext = null;
    if (z === null) {
      const x2pi = this.random() * (2 * Math.PI);
      const g2rad = Math.sqrt(-2 * Math.log(1 - this.random()));
      z = Math.cos(x2pi) * g2rad;
      this.#gaussNext = Math.sin(x2pi) * g2rad;
    }
    return mu + z * sigma;
  }
}

function range(start: number, stop: number): number[] {
  return Array.from({ length: stop - start }, (_, i) => start + i);
}

// np.random.seed(12345); np.concatenate((np.random.randint(2, size=1000),
// np.random.randint(8, size=1000))): the legacy masked sampler draws one
// 32-bit word a value and keeps its low bits (never a rejection for 2 and 8).
function numpyStream(): number[] {
  const twister = MersenneTwister.fromInt(12345);
  return [
    ...Array.from({ length: 1000 }, () => twister.next() & 1),
    ...Array.from({ length: 1000 }, () => twister.next() & 7),
  ];
}

// random.Random(42), four segments: River's test_multiple_drifts.
function multipleDriftsStream(): number[] {
  const rng = new PythonRandom(42);
  return [
    ...rng.choices([0, 1], 1000),
    ...rng.choices(range(4, 8), 1000),
    ...rng.choices([0, 1], 1000),
    ...rng.choices(range(4, 8), 1000),
  ];
}

// random.Random(42), gauss(0, 1) then gauss(5, 1): River's
// test_min_window_length.
function gaussStream(): number[] {
  const rng = new PythonRandom(42);
  return [
    ...Array.from({ length: 500 }, () => rng.gauss(0, 1)),
    ...Array.from({ length: 500 }, () => rng.gauss(5, 1)),
  ];
}

// Everything a caller can read after an update.
function snapshot(d: ADWIN): unknown[] {
  return [
    d.driftDetected,
    d.warningDetected,
    d.n,
    d.width,
    d.estimation,
    d.variance,
    d.total,
    d.score,
  ];
}

Deno.test("MersenneTwister and PythonRandom give CPython's and NumPy's numbers", () => {
  // random.Random(42).random() and gauss() from CPython; 3499211612 is
  // MT19937's first output for the reference seed 5489.
  assert.equal(new PythonRandom(42).random(), 0.6394267984578837);
  assert.equal(MersenneTwister.fromInt(5489).next(), 3499211612);
  const stream = gaussStream();
  assert.equal(stream[0], -0.14409032957792836);
  assert.equal(stream[1], -0.1729036003315193);
  assert.equal(stream[777], 4.89254848111278);
});

Deno.test("ADWIN.update() detects River's documented example at River's index", () => {
  const examples = readFixture("river_doc_examples.json") as RiverExample[];
  const example = examples.find((e) => e.detector === "adwin");
  assert.ok(example, "the fixture has an adwin example");
  // River's doctest: random.Random(12345), choices([0, 1], k=1000) +
  // choices(range(4, 8), k=1000); the fixture holds that stream.
  const rng = new PythonRandom(12345);
  assert.deepEqual(
    [...rng.choices([0, 1], 1000), ...rng.choices(range(4, 8), 1000)],
    example.stream,
  );
  const { drifts, warnings, states } = run(new ADWIN(), example.stream);
  assert.deepEqual(drifts, [...example.drift_indices]);
  assert.deepEqual(drifts, [1023]);
  assert.deepEqual(warnings, []);
  assert.deepEqual(example.warning_indices, []);
  assert.equal(states.includes("warning"), false);
});

Deno.test("ADWIN.update() reproduces River's ADWIN regression vectors", async (t) => {
  // River's test_adwin_regression.py (and test_drift_detectors.py's
  // test_adwin). The scan before River 0.24 skipped the newest bucket of
  // every row; it gives [1055] and [1023, 2047, 3039] here instead.
  await t.step("test_basic_drift_at_expected_index: NumPy seed 12345", () => {
    assert.deepEqual(run(new ADWIN(), numpyStream()).drifts, [1023]);
  });
  await t.step("test_multiple_drifts: random.Random(42), four segments", () => {
    assert.deepEqual(
      run(new ADWIN(), multipleDriftsStream()).drifts,
      [1023, 2015, 3007],
    );
  });
  await t.step(
    "test_reset_on_drift_detected: the next update starts afresh",
    () => {
      const adwin = new ADWIN({ clock: 1 });
      for (let i = 0; i < 500; i++) adwin.update(0);
      let found = false;
      for (let i = 0; i < 500 && !found; i++) {
        found = adwin.update(100) === "drift";
      }
      assert.ok(found);
      assert.ok(adwin.width < adwin.n);
      adwin.update(50);
      assert.equal(adwin.width, 1);
      assert.equal(adwin.n, 1);
      assert.equal(adwin.driftDetected, false);
    },
  );
  await t.step("test_grace_period: no test before the window passes it", () => {
    const adwin = new ADWIN({ gracePeriod: 100, clock: 1 });
    const { drifts } = run(adwin, [
      ...Array<number>(50).fill(0),
      ...Array<number>(50).fill(1000),
    ]);
    assert.deepEqual(drifts, []);
    assert.equal(adwin.score, 0);
  });
  await t.step("test_no_drift_constant_stream", () => {
    assert.deepEqual(run(new ADWIN(), Array<number>(5000).fill(1)).drifts, []);
  });
});

Deno.test("ADWIN.update() matches our port of River's Rust on other options", async (t) => {
  // Indices from a line-by-line Python port of River's rust_src/adwin.rs
  // (checked against the River vectors above), not from River itself: they
  // cover clock 1, other bucket counts and continuous values. The pre-0.24
  // scan gives [1027], [1119], [516] and [543].
  await t.step("NumPy stream, clock 1", () => {
    assert.deepEqual(run(new ADWIN({ clock: 1 }), numpyStream()).drifts, [
      1004,
    ]);
  });
  await t.step("NumPy stream, maxBuckets 2", () => {
    assert.deepEqual(
      run(new ADWIN({ maxBuckets: 2 }), numpyStream()).drifts,
      [1023],
    );
  });
  await t.step("Gaussian stream, minWindowLength 1, clock 1", () => {
    assert.deepEqual(
      run(new ADWIN({ minWindowLength: 1, clock: 1 }), gaussStream()).drifts,
      [502],
    );
  });
  await t.step("Gaussian stream, defaults", () => {
    assert.deepEqual(run(new ADWIN(), gaussStream()).drifts, [511]);
  });
});

Deno.test("ADWIN keeps River's window statistics", async (t) => {
  await t.step("width grows by one a value", () => {
    const adwin = new ADWIN();
    for (let i = 1; i <= 100; i++) {
      adwin.update(1);
      assert.equal(adwin.width, i);
      assert.equal(adwin.n, i);
    }
  });
  await t.step("total, estimation and the sum of squared deviations", () => {
    const adwin = new ADWIN();
    assert.equal(adwin.estimation, 0);
    run(adwin, [1, 2, 3, 4, 5]);
    assert.equal(adwin.total, 15);
    assert.equal(adwin.estimation, 3);
    assert.equal(adwin.width, 5);
    assert.equal(adwin.variance, 10);
  });
  await t.step(
    "the variance of random.Random(999).gauss(5, 2), as River's port",
    () => {
      const rng = new PythonRandom(999);
      const adwin = new ADWIN();
      run(adwin, Array.from({ length: 500 }, () => rng.gauss(5, 2)));
      assert.equal(adwin.width, 500);
      assert.equal(adwin.total, 2588.6885856020695);
      assert.equal(adwin.variance, 1953.1305338836607);
    },
  );
  await t.step("n equals width except on a drift", () => {
    const adwin = new ADWIN();
    for (const x of multipleDriftsStream()) {
      adwin.update(x);
      if (adwin.driftDetected) assert.ok(adwin.width < adwin.n);
      else assert.equal(adwin.width, adwin.n);
    }
  });
  await t.step("score is at least 1 on a drift and at most 1 otherwise", () => {
    const adwin = new ADWIN();
    let last = 0;
    let checks = 0;
    numpyStream().forEach((x, i) => {
      const state = adwin.update(x);
      if (i < 31) assert.equal(adwin.score, 0);
      if (state === "drift") assert.ok(adwin.score > 1);
      else assert.ok(adwin.score <= 1);
      if (adwin.score !== last) checks++;
      last = adwin.score;
    });
    assert.ok(checks > 10);
  });
});

Deno.test("new ADWIN() checks its options", async (t) => {
  const invalid: [keyof ADWINOptions, unknown][] = [
    ["delta", 0],
    ["delta", 1],
    ["delta", -0.1],
    ["delta", NaN],
    ["delta", "0.1"],
    ["clock", 0],
    ["clock", 1.5],
    ["clock", Infinity],
    ["maxBuckets", 1],
    ["maxBuckets", 2.5],
    ["maxBuckets", 65537],
    ["minWindowLength", 0],
    ["minWindowLength", 3.2],
    ["gracePeriod", -1],
    ["gracePeriod", 0.5],
  ];
  for (const [option, value] of invalid) {
    await t.step(`${option} ${String(value)}`, () => {
      assert.throws(
        () => new ADWIN({ [option]: value } as ADWINOptions),
        (error: unknown) =>
          error instanceof RangeError &&
          error.message.startsWith(`Cannot create ADWIN: ${option} must be`) &&
          error.message.endsWith(
            `got ${typeof value === "string" ? `"${value}"` : String(value)}`,
          ),
      );
    });
  }
  await t.step("the message states the range", () => {
    assert.throws(() => new ADWIN({ delta: 0 }), {
      name: "RangeError",
      message:
        "Cannot create ADWIN: delta must be a number above 0 and below 1, got 0",
    });
  });
  await t.step("River's defaults and the edges accepted", () => {
    assert.deepEqual(new ADWIN().toJSON().options, {
      delta: 0.002,
      clock: 32,
      maxBuckets: 5,
      minWindowLength: 5,
      gracePeriod: 10,
    });
    new ADWIN({ clock: 1, maxBuckets: 2, minWindowLength: 1, gracePeriod: 0 });
    new ADWIN({ delta: 0.999, maxBuckets: 65536 });
  });
});

Deno.test("ADWIN.update() refuses a value that is not a finite number", () => {
  const adwin = new ADWIN();
  run(adwin, [1, 2, 3]);
  const before = JSON.stringify(adwin.toJSON());
  for (const x of [NaN, Infinity, -Infinity, "1", undefined, null, true]) {
    assert.throws(() => adwin.update(x as number), {
      name: "TypeError",
      message: `Cannot update ADWIN: expected a finite number, got ${
        typeof x === "string" ? `"${x}"` : String(x)
      }`,
    });
  }
  assert.equal(JSON.stringify(adwin.toJSON()), before);
});

Deno.test("ADWIN.reset() forgets everything", () => {
  const options = { clock: 4, maxBuckets: 3 };
  const used = new ADWIN(options);
  run(used, multipleDriftsStream().slice(0, 2500));
  used.reset();
  assertSameCourse(used, new ADWIN(options), numpyStream(), snapshot);
});

// Segments of a random mean and spread: drifts, and windows that grow.
const streams = fc.array(
  fc.tuple(
    fc.integer({ min: 1, max: 600 }),
    fc.double({ min: -100, max: 100, noNaN: true }),
    fc.double({ min: 0, max: 20, noNaN: true }),
    fc.integer({ min: 0, max: 2 ** 31 }),
  ),
  { minLength: 1, maxLength: 6 },
).map((segments) =>
  segments.flatMap(([length, mean, spread, seed]) => {
    const rng = new PythonRandom(seed);
    return Array.from({ length }, () => mean + spread * rng.gauss(0, 1));
  })
);

const options = fc.record({
  delta: fc.constantFrom(0.002, 0.05, 0.3, 1e-6),
  clock: fc.integer({ min: 1, max: 40 }),
  maxBuckets: fc.integer({ min: 2, max: 9 }),
  minWindowLength: fc.integer({ min: 1, max: 12 }),
  gracePeriod: fc.integer({ min: 0, max: 60 }),
});

Deno.test("ADWIN.fromJSON() goes on exactly as the uninterrupted detector", () => {
  fc.assert(
    fc.property(streams, fc.nat(), options, (stream, at, opts) => {
      const cut = at % (stream.length + 1);
      const whole = new ADWIN(opts);
      const first = new ADWIN(opts);
      for (const x of stream.slice(0, cut)) {
        whole.update(x);
        first.update(x);
      }
      const text = JSON.stringify(first.toJSON());
      const restored = ADWIN.fromJSON(JSON.parse(text));
      assert.equal(JSON.stringify(restored.toJSON()), text);
      assert.deepEqual(snapshot(restored), snapshot(whole));
      for (const x of stream.slice(cut)) {
        assert.equal(restored.update(x), whole.update(x));
        assert.deepEqual(snapshot(restored), snapshot(whole));
      }
      assert.equal(
        JSON.stringify(restored.toJSON()),
        JSON.stringify(whole.toJSON()),
      );
    }),
    { numRuns: 150 },
  );
});

Deno.test("ADWIN.fromJSON() on a drift restarts on the next update", () => {
  const stream = numpyStream();
  const whole = new ADWIN();
  const first = new ADWIN();
  run(whole, stream.slice(0, 1024));
  run(first, stream.slice(0, 1024));
  assert.equal(first.driftDetected, true);
  const restored = ADWIN.fromJSON(JSON.parse(JSON.stringify(first.toJSON())));
  assert.equal(restored.driftDetected, true);
  assert.deepEqual(snapshot(restored), snapshot(whole));
  assert.deepEqual(
    run(restored, stream.slice(1024)),
    run(whole, stream.slice(1024)),
  );
  assert.deepEqual(snapshot(restored), snapshot(whole));
  assert.equal(restored.n, 2000 - 1024);
});

Deno.test("ADWIN.fromJSON() refuses what is not an ADWIN's state", async (t) => {
  const adwin = new ADWIN();
  run(adwin, numpyStream().slice(0, 300));
  const json = JSON.parse(JSON.stringify(adwin.toJSON()));
  const broken = (change: (state: Record<string, unknown>) => void) => {
    const copy = structuredClone(json);
    change(copy.state);
    return copy;
  };
  await t.step("another detector's kind", () => {
    assert.throws(() => ADWIN.fromJSON({ ...json, kind: "ddm" }), TypeError);
    assert.throws(() => ADWIN.fromJSON(null), TypeError);
  });
  await t.step("buckets that do not add up to the width", () => {
    assert.throws(
      () => ADWIN.fromJSON(broken((s) => (s.width = 299))),
      TypeError,
    );
    assert.throws(
      () => ADWIN.fromJSON(broken((s) => (s.totals as number[]).pop())),
      TypeError,
    );
    assert.throws(
      () => ADWIN.fromJSON(broken((s) => (s.rowCounts as number[])[0] = 9)),
      TypeError,
    );
  });
  await t.step("a missing or non-finite number", () => {
    assert.throws(
      () => ADWIN.fromJSON(broken((s) => delete s.total)),
      TypeError,
    );
    assert.throws(
      () => ADWIN.fromJSON(broken((s) => (s.variances as unknown[])[0] = "x")),
      TypeError,
    );
  });
  await t.step("an option out of range", () => {
    assert.throws(
      () => ADWIN.fromJSON({ ...json, options: { ...json.options, clock: 0 } }),
      RangeError,
    );
  });
});

Deno.test("ADWIN's buckets stay within a row per power of two, maxBuckets a row", () => {
  for (const maxBuckets of [2, 3, 5, 12]) {
    const adwin = new ADWIN({ maxBuckets });
    const rng = new PythonRandom(maxBuckets);
    let longest = 0;
    for (let i = 0; i < 200_000; i++) {
      // A stationary stream, then a shift every 50 000 values.
      adwin.update(Math.floor(i / 50_000) * 0.3 + rng.random());
      if (i % 997 !== 0) continue;
      const state = adwin.toJSON().state;
      const rowCounts = state.rowCounts as number[];
      longest = Math.max(longest, adwin.width);
      assert.ok(rowCounts.length <= Math.floor(Math.log2(adwin.width)) + 1);
      assert.ok(rowCounts.every((count) => count <= maxBuckets));
      assert.ok(rowCounts.at(-1)! > 0);
      assert.equal(
        rowCounts.reduce((sum, count, row) => sum + count * 2 ** row, 0),
        adwin.width,
      );
      assert.equal(
        (state.totals as number[]).length,
        rowCounts.reduce((sum, count) => sum + count, 0),
      );
    }
    assert.ok(longest > 40_000);
  }
});
