import assert from "node:assert/strict";
import fc from "fast-check";
import type { QualityFigures } from "../../src/drift/model_types.ts";
import {
  ConfusionMatrix,
  type ConfusionMatrixOptions,
} from "../../src/drift/quality.ts";

// A prediction as add() takes it: [predicted, actual].
type Pair = readonly [number, number];

const EMPTY: QualityFigures = {
  predictions: 0,
  accuracy: NaN,
  precision: NaN,
  recall: NaN,
  f1Score: NaN,
};

function options(
  overrides: Partial<ConfusionMatrixOptions> = {},
): ConfusionMatrixOptions {
  return { window: 100, maxClasses: 8, declared: 0, positive: 1, ...overrides };
}

function feed(matrix: ConfusionMatrix, pairs: readonly Pair[]): void {
  for (const [predicted, actual] of pairs) matrix.add(predicted, actual);
}

// `count` copies of one pair: a cell of a hand-written matrix.
function cell(predicted: number, actual: number, count: number): Pair[] {
  return Array.from({ length: count }, () => [predicted, actual] as const);
}

// The pairs of a matrix written as rows of actual classes, columns of
// predicted ones (scikit-learn's layout), interleaved so that no class
// arrives all at once.
function fromRows(rows: readonly (readonly number[])[]): Pair[] {
  const cells = rows.flatMap((row, actual) =>
    row.map((count, predicted) => cell(predicted, actual, count))
  );
  const pairs: Pair[] = [];
  for (let i = 0; cells.some((c) => i < c.length); i++) {
    for (const c of cells) if (i < c.length) pairs.push(c[i]!);
  }
  return pairs;
}

// Integers written as space-separated strings, to keep long data short.
function numbers(...lines: string[]): number[] {
  return lines.join(" ").split(" ").map(Number);
}

function figures(
  pairs: readonly Pair[],
  overrides: Partial<ConfusionMatrixOptions> = {},
): QualityFigures {
  const matrix = new ConfusionMatrix(options(overrides));
  feed(matrix, pairs);
  return matrix.figures("lifetime");
}

// deepEqual of node:assert/strict compares with Object.is: NaN equals NaN.
Deno.test("node:assert/strict deepEqual takes NaN for NaN and nothing else", () => {
  assert.deepEqual({ a: NaN }, { a: NaN });
  assert.throws(() => assert.deepEqual({ a: NaN }, { a: 0 }));
});

Deno.test("ConfusionMatrix binary figures match a hand-computed 2×2 matrix", async (t) => {
  //            predicted 0  predicted 1
  // actual 0        5            2
  // actual 1        1            3
  const pairs = fromRows([[5, 2], [1, 3]]);

  await t.step("positive 1: tp 3, fp 2, fn 1", () => {
    // accuracy (5 + 3) / 11, precision 3 / 5, recall 3 / 4,
    // F1 2·3 / (2·3 + 2 + 1) = 6 / 9
    assert.deepEqual(figures(pairs, { declared: 2, positive: 1 }), {
      predictions: 11,
      accuracy: 8 / 11,
      precision: 3 / 5,
      recall: 3 / 4,
      f1Score: 6 / 9,
    });
  });

  await t.step("positive 0: tp 5, fp 1, fn 2", () => {
    // precision 5 / 6, recall 5 / 7, F1 10 / 13
    assert.deepEqual(figures(pairs, { declared: 2, positive: 0 }), {
      predictions: 11,
      accuracy: 8 / 11,
      precision: 5 / 6,
      recall: 5 / 7,
      f1Score: 10 / 13,
    });
  });

  await t.step("learned classes: the same figures", () => {
    assert.deepEqual(
      figures(pairs, { declared: 0, positive: 1 }),
      figures(pairs, { declared: 2, positive: 1 }),
    );
  });

  await t.step("a positive class never predicted nor seen: all 0", () => {
    // tp + fp = 0, tp + fn = 0: zero_division=0 for all three.
    assert.deepEqual(figures(fromRows([[4]]), { declared: 2, positive: 1 }), {
      predictions: 4,
      accuracy: 1,
      precision: 0,
      recall: 0,
      f1Score: 0,
    });
  });
});

Deno.test("ConfusionMatrix with positive -1 reports binary precision, recall and F1 as 0", () => {
  const pairs = fromRows([[5, 2], [1, 3]]);
  const matrix = new ConfusionMatrix(options({ positive: -1 }));
  feed(matrix, pairs);
  assert.equal(matrix.binary, true);
  assert.deepEqual(matrix.figures("lifetime"), {
    predictions: 11,
    accuracy: 8 / 11,
    precision: 0,
    recall: 0,
    f1Score: 0,
  });
  // Once the caller learns the positive class, the same counts give its figures.
  matrix.positive = 1;
  assert.equal(matrix.positive, 1);
  assert.equal(matrix.figures("lifetime").precision, 3 / 5);
  assert.equal(matrix.figures("recent").recall, 3 / 4);
});

Deno.test("ConfusionMatrix macro averages match a hand-computed 3×3 matrix", () => {
  //       p0 p1 p2 | actual
  // a0     4  1  0 |  5
  // a1     2  3  1 |  6
  // a2     0  1  2 |  3
  // pred   6  5  3 | 14, trace 9
  // precision 4/6, 3/5, 2/3 (mean 29/45); recall 4/5, 3/6, 2/3 (mean 59/90);
  // F1 8/11, 6/11, 4/6 (mean 64/99). Expected values sum in class order,
  // as the matrix does, so they are equal to the bit.
  const pairs = fromRows([[4, 1, 0], [2, 3, 1], [0, 1, 2]]);
  const expected = {
    predictions: 14,
    accuracy: 9 / 14,
    precision: (4 / 6 + 3 / 5 + 2 / 3) / 3,
    recall: (4 / 5 + 3 / 6 + 2 / 3) / 3,
    f1Score: (8 / 11 + 6 / 11 + 4 / 6) / 3,
  };
  assert.deepEqual(figures(pairs, { declared: 3, positive: 0 }), expected);
  // Learned, the three classes are all present: the same label set.
  assert.deepEqual(figures(pairs, { declared: 0 }), expected);
  assert.ok(Math.abs(expected.precision - 29 / 45) < 1e-15);
  assert.ok(Math.abs(expected.recall - 59 / 90) < 1e-15);
  assert.ok(Math.abs(expected.f1Score - 64 / 99) < 1e-15);
});

Deno.test("ConfusionMatrix gives precision 0 to a declared class never predicted", () => {
  //       p0 p1 p2 | actual
  // a0     3  1  0 |  4
  // a1     1  2  0 |  3
  // a2     1  1  0 |  2
  // pred   5  4  0 |  9, trace 5
  // class 2: tp 0, fp 0 (precision 0 by zero_division), fn 2 (recall 0/2),
  // F1 0 / (0 + 0 + 2) = 0.
  const pairs = fromRows([[3, 1, 0], [1, 2, 0], [1, 1, 0]]);
  assert.deepEqual(figures(pairs, { declared: 3, positive: 0 }), {
    predictions: 9,
    accuracy: 5 / 9,
    precision: (3 / 5 + 2 / 4 + 0) / 3,
    recall: (3 / 4 + 2 / 3 + 0) / 3,
    f1Score: (6 / 9 + 4 / 7 + 0) / 3,
  });
});

Deno.test("ConfusionMatrix averages over a declared class that never appears, not over a learned one", () => {
  // The 3×3 matrix above, with a fourth class declared that is neither
  // predicted nor actual: it counts as 0, 0, 0 in the means (labels=).
  const pairs = fromRows([[4, 1, 0], [2, 3, 1], [0, 1, 2]]);
  assert.deepEqual(figures(pairs, { declared: 4, positive: 0 }), {
    predictions: 14,
    accuracy: 9 / 14,
    precision: (4 / 6 + 3 / 5 + 2 / 3 + 0) / 4,
    recall: (4 / 5 + 3 / 6 + 2 / 3 + 0) / 4,
    f1Score: (8 / 11 + 6 / 11 + 4 / 6 + 0) / 4,
  });

  // Learned, a class index with no prediction and no actual (2 here, between
  // 1 and 3) is out of the label set, as scikit-learn's unique_labels.
  //       p0 p1 p3 | actual
  // a0     2  1  0 |  3
  // a1     0  2  1 |  3
  // a3     1  0  1 |  2
  // pred   3  3  2 |  8, trace 5
  const gap = fromRows([[2, 1, 0, 0], [0, 2, 0, 1], [], [1, 0, 0, 1]]);
  const matrix = new ConfusionMatrix(options());
  feed(matrix, gap);
  assert.equal(matrix.classes, 4);
  assert.equal(matrix.binary, false);
  assert.deepEqual(matrix.figures("lifetime"), {
    predictions: 8,
    accuracy: 5 / 8,
    precision: (2 / 3 + 2 / 3 + 1 / 2) / 3,
    recall: (2 / 3 + 2 / 3 + 1 / 2) / 3,
    f1Score: (4 / 6 + 4 / 6 + 2 / 4) / 3,
  });
  assert.deepEqual(matrix.predictedCounts(), [3, 3, 0, 2]);
});

Deno.test("ConfusionMatrix learned label set is that of each window", () => {
  // Class 2 is only in the first two predictions: the lifetime averages
  // over 0, 1 and 2, the recent window (the last 4) over 0 and 1 only,
  // while the matrix stays multi-class (3 classes learned).
  const pairs: Pair[] = [[2, 2], [2, 0], [0, 0], [1, 1], [1, 0], [0, 0]];
  const matrix = new ConfusionMatrix(options({ window: 4 }));
  feed(matrix, pairs);
  assert.equal(matrix.binary, false);
  assert.deepEqual(matrix.figures("recent"), {
    predictions: 4,
    accuracy: 3 / 4,
    // class 0: tp 2, predicted 2, actual 3; class 1: tp 1, predicted 2, actual 1
    precision: (2 / 2 + 1 / 2) / 2,
    recall: (2 / 3 + 1 / 1) / 2,
    f1Score: (4 / 5 + 2 / 3) / 2,
  });
  assert.deepEqual(matrix.figures("lifetime"), {
    predictions: 6,
    accuracy: 4 / 6,
    // class 0: tp 2, predicted 2, actual 4; class 1: tp 1, predicted 2,
    // actual 1; class 2: tp 1, predicted 2, actual 1
    precision: (2 / 2 + 1 / 2 + 1 / 2) / 3,
    recall: (2 / 4 + 1 / 1 + 1 / 1) / 3,
    f1Score: (4 / 6 + 2 / 3 + 2 / 3) / 3,
  });
});

Deno.test("ConfusionMatrix.classes and .binary follow declared and learned classes", () => {
  const learned = new ConfusionMatrix(options());
  assert.equal(learned.classes, 0);
  assert.equal(learned.binary, true);
  assert.deepEqual(learned.predictedCounts(), []);
  learned.add(0, 1);
  assert.equal(learned.classes, 2);
  assert.equal(learned.binary, true);
  learned.add(2, 0);
  assert.equal(learned.classes, 3);
  assert.equal(learned.binary, false);
  assert.deepEqual(learned.predictedCounts(), [1, 0, 1]);

  const three = new ConfusionMatrix(options({ declared: 3, positive: 0 }));
  assert.equal(three.classes, 3);
  assert.equal(three.binary, false);
  assert.deepEqual(three.predictedCounts(), [0, 0, 0]);
  const two = new ConfusionMatrix(options({ declared: 2 }));
  assert.equal(two.binary, true);
});

Deno.test("ConfusionMatrix figures are NaN with 0 predictions while a window is empty", () => {
  const matrix = new ConfusionMatrix(options({ declared: 3, positive: 0 }));
  assert.deepEqual(matrix.figures("recent"), EMPTY);
  assert.deepEqual(matrix.figures("lifetime"), EMPTY);
});

Deno.test("ConfusionMatrix recent window holds the last `window` predictions", async (t) => {
  const pairs: Pair[] = [[0, 1], [1, 1], [1, 0], [0, 0], [1, 1], [0, 1]];

  await t.step(
    "after 6 adds with window 4, the recent figures are the last 4's",
    () => {
      const matrix = new ConfusionMatrix(options({ window: 4 }));
      feed(matrix, pairs);
      assert.deepEqual(matrix.figures("recent"), figures(pairs.slice(2)));
      assert.deepEqual(matrix.figures("lifetime"), figures(pairs));
      // The last 4: tp 1 ([1, 1]), fp 1 ([1, 0]), fn 1 ([0, 1]), tn 1.
      assert.deepEqual(matrix.figures("recent"), {
        predictions: 4,
        accuracy: 2 / 4,
        precision: 1 / 2,
        recall: 1 / 2,
        f1Score: 2 / 4,
      });
    },
  );

  await t.step(
    "resetRecent() empties the recent window and keeps the lifetime",
    () => {
      const matrix = new ConfusionMatrix(options({ window: 4 }));
      feed(matrix, pairs);
      const lifetime = matrix.figures("lifetime");
      matrix.resetRecent();
      assert.deepEqual(matrix.figures("recent"), EMPTY);
      assert.deepEqual(matrix.figures("lifetime"), lifetime);
      assert.deepEqual(matrix.predictedCounts(), [3, 3]);
      // It fills again from empty: the evictions start over.
      feed(matrix, pairs.slice(0, 5));
      assert.deepEqual(matrix.figures("recent"), figures(pairs.slice(1, 5)));
      assert.deepEqual(
        matrix.figures("lifetime"),
        figures([...pairs, ...pairs.slice(0, 5)]),
      );
    },
  );

  await t.step("window 1 holds the last prediction only", () => {
    const matrix = new ConfusionMatrix(options({ window: 1 }));
    feed(matrix, pairs);
    assert.deepEqual(matrix.figures("recent"), figures([[0, 1]]));
  });
});

Deno.test("ConfusionMatrix evicts correctly across the growth of learned classes", () => {
  // Classes 0..9 arrive one by one: the matrices grow 2 → 4 → 8 → 10 while
  // the ring still holds pairs from before each growth.
  const pairs: Pair[] = [];
  for (let i = 0; i < 40; i++) pairs.push([i % 10, (i * 3) % 10]);
  const matrix = new ConfusionMatrix(options({ window: 7, maxClasses: 10 }));
  for (let i = 0; i < pairs.length; i++) {
    matrix.add(pairs[i]![0], pairs[i]![1]);
    const recent = pairs.slice(Math.max(0, i - 6), i + 1);
    assert.deepEqual(matrix.toJSON().recentPredicted, recent.map((p) => p[0]));
    assert.equal(matrix.figures("recent").predictions, recent.length);
  }
  assert.equal(matrix.classes, 10);
  assert.deepEqual(matrix.predictedCounts(), Array(10).fill(4));
});

Deno.test("ConfusionMatrix accepts class indexes past 65535 when maxClasses allows them", () => {
  // The ring is an Int32Array then; the matrices still grow with the classes seen.
  const matrix = new ConfusionMatrix(options({ window: 2, maxClasses: 70000 }));
  feed(matrix, [[1, 0], [2, 2], [0, 0]]);
  assert.deepEqual(matrix.toJSON().recentPredicted, [2, 0]);
  assert.equal(matrix.figures("recent").accuracy, 1);
});

// Figures computed from the pairs with scikit-learn 1.2.1 and numpy 1.24
// (accuracy_score, precision_recall_fscore_support(average="macro",
// zero_division=0)), F1 as scikit-learn 1.3 and later compute it (the numpy
// mean of 2tp / (true_sum + pred_sum)). From 8 classes on, numpy's pairwise
// summation gives other bits than a left-to-right sum.
Deno.test("ConfusionMatrix macro averages have scikit-learn's bits with 12 and 150 classes", async (t) => {
  await t.step("12 declared classes, 5 and 9 never used", () => {
    const predicted = numbers(
      "8 4 4 3 1 1 4 10 6 4 6 7 2 3 3 8 1 11 1 11 7 7 0 8 6 0 8 4 2 11 6",
      "11 3 10 2 1 7 4 0 10 1 2 8 2 4 10 0 2 0 8 2 6 11 11 7 1 4 8 8 6 0",
      "6 2 4 2 8 6 10 0 10 3 2 3 8 10 1 6 6 0 7",
    );
    const actual = numbers(
      "8 4 4 1 1 1 11 10 6 8 1 7 2 4 1 8 1 0 1 6 11 7 0 6 1 0 2 4 2 11 11",
      "1 3 10 2 2 7 4 7 3 2 6 0 1 4 1 0 2 0 8 6 2 0 11 7 1 8 3 8 1 10 8 2",
      "3 2 8 6 10 0 10 7 2 3 11 0 2 6 8 8 7",
    );
    const pairs = predicted.map((p, i) => [p, actual[i]!] as const);
    assert.deepEqual(
      figures(pairs, { declared: 12, maxClasses: 12, positive: 0 }),
      {
        predictions: 80,
        accuracy: 0.5375,
        precision: 0.4480820105820105,
        recall: 0.4610856735856736,
        f1Score: 0.44610536522301225,
      },
    );
  });

  await t.step("12 learned classes out of indexes 0..14", () => {
    const predicted = numbers(
      "4 0 10 14 0 2 4 0 0 13 2 14 6 4 1 6 9 14 6 5 8 5 6 4 4 6 6 4 5 14",
      "10 8 4 12 9 8 9 1 9 12 6 9 12 6 14 13 9 8 1 9 0 4 2 10 2 12 14 14",
      "0 5 10 9 2 1 1 8 0 1 9 14 10 5 8 10 4 2 10 10 6 1",
    );
    const actual = numbers(
      "4 0 6 14 0 1 5 0 0 13 2 14 6 4 1 6 9 12 6 0 9 12 4 12 4 13 6 4 5 8",
      "10 8 5 5 0 8 9 6 10 12 6 9 6 13 9 13 14 8 2 10 1 14 6 2 2 12 14 12",
      "0 8 12 9 2 9 13 8 12 6 9 13 1 14 8 10 6 2 12 8 6 1",
    );
    const pairs = predicted.map((p, i) => [p, actual[i]!] as const);
    assert.deepEqual(figures(pairs, { maxClasses: 16 }), {
      predictions: 80,
      accuracy: 0.5125,
      precision: 0.5409722222222223,
      recall: 0.5113756613756614,
      f1Score: 0.4959569297804592,
    });
  });

  await t.step(
    "150 declared classes: numpy's pairwise sum splits in halves",
    () => {
      // The pairs of a MINSTD stream, as the Python side generated them:
      // x = x * 48271 % (2^31 - 1); predicted x % 150; actual the same, or
      // on every third draw, floor(x / 256) % 150.
      const pairs: Pair[] = [];
      let x = 3;
      for (let i = 0; i < 700; i++) {
        x = (x * 48271) % 2147483647;
        const predicted = x % 150;
        x = (x * 48271) % 2147483647;
        pairs.push([predicted, x % 3 ? predicted : Math.floor(x / 256) % 150]);
      }
      assert.deepEqual(
        figures(pairs, { declared: 150, maxClasses: 150, positive: 0 }),
        {
          predictions: 700,
          accuracy: 0.6642857142857143,
          precision: 0.6551791726791727,
          recall: 0.6608307988307989,
          f1Score: 0.6342248211025301,
        },
      );
    },
  );
});

// The reference: scikit-learn's definitions applied to a list of pairs,
// one class at a time, with a left-to-right mean.
function reference(
  pairs: readonly Pair[],
  declared: number,
  binary: boolean,
  positive: number,
): { figures: QualityFigures; labels: number } {
  const n = pairs.length;
  if (n === 0) return { figures: EMPTY, labels: 0 };
  const accuracy = pairs.filter(([p, a]) => p === a).length / n;
  const perClass = (c: number): [number, number, number] => {
    let tp = 0, fp = 0, fn = 0;
    for (const [p, a] of pairs) {
      if (p === c && a === c) tp++;
      else if (p === c) fp++;
      else if (a === c) fn++;
    }
    return [
      tp + fp === 0 ? 0 : tp / (tp + fp),
      tp + fn === 0 ? 0 : tp / (tp + fn),
      2 * tp + fp + fn === 0 ? 0 : 2 * tp / (2 * tp + fp + fn),
    ];
  };
  if (binary) {
    const [precision, recall, f1Score] = positive === -1
      ? [0, 0, 0]
      : perClass(positive);
    return {
      figures: { predictions: n, accuracy, precision, recall, f1Score },
      labels: 1,
    };
  }
  const labels = declared > 0
    ? Array.from({ length: declared }, (_, c) => c)
    : [...new Set(pairs.flat())].sort((x, y) => x - y);
  const sums = [0, 0, 0];
  for (const c of labels) {
    const figures = perClass(c);
    for (let i = 0; i < 3; i++) sums[i] = sums[i]! + figures[i]!;
  }
  return {
    figures: {
      predictions: n,
      accuracy,
      precision: sums[0]! / labels.length,
      recall: sums[1]! / labels.length,
      f1Score: sums[2]! / labels.length,
    },
    labels: labels.length,
  };
}

// Equal to the bit below 8 labels, where numpy's pairwise sum is a
// left-to-right one; within rounding from 8 on.
function assertMatches(
  actual: QualityFigures,
  expected: { figures: QualityFigures; labels: number },
): void {
  if (expected.labels < 8) {
    assert.deepEqual(actual, expected.figures);
    return;
  }
  assert.equal(actual.predictions, expected.figures.predictions);
  assert.equal(actual.accuracy, expected.figures.accuracy);
  for (const key of ["precision", "recall", "f1Score"] as const) {
    assert.ok(
      Math.abs(actual[key] - expected.figures[key]) <= 1e-12,
      `${key}: ${actual[key]} against ${expected.figures[key]}`,
    );
  }
}

type Op = Pair | "reset";

const scenarios = fc.integer({ min: 2, max: 40 }).chain((maxClasses) =>
  fc.record({
    maxClasses: fc.constant(maxClasses),
    declared: fc.oneof(
      fc.constant(0),
      fc.constant(2),
      fc.integer({ min: 2, max: maxClasses }),
    ),
    window: fc.integer({ min: 1, max: 25 }),
  }).chain(({ maxClasses, declared, window }) => {
    const limit = declared > 0 ? declared : maxClasses;
    // Few classes in use most of the time, so learned binary comes up.
    return fc.integer({ min: 1, max: limit }).chain((used) =>
      fc.record({
        options: fc.record({
          window: fc.constant(window),
          maxClasses: fc.constant(maxClasses),
          declared: fc.constant(declared),
          positive: fc.integer({ min: -1, max: limit - 1 }),
        }),
        ops: fc.array(
          fc.oneof(
            {
              weight: 40,
              arbitrary: fc.tuple(fc.nat(used - 1), fc.nat(used - 1)),
            },
            { weight: 1, arbitrary: fc.constant("reset" as const) },
          ),
          { maxLength: 120 },
        ),
        cut: fc.nat(),
      })
    );
  })
);

// Runs ops on a matrix and on lists of pairs, checking both windows after each.
function check(
  matrix: ConfusionMatrix,
  opts: ConfusionMatrixOptions,
  ops: readonly Op[],
  lifetime: Pair[],
  recent: Pair[],
): void {
  for (const op of ops) {
    if (op === "reset") {
      matrix.resetRecent();
      recent.length = 0;
    } else {
      matrix.add(op[0], op[1]);
      lifetime.push(op);
      recent.push(op);
    }
    const highest = Math.max(-1, ...lifetime.flat());
    const binary = opts.declared > 0 ? opts.declared === 2 : highest + 1 <= 2;
    assert.equal(matrix.binary, binary);
    assert.equal(
      matrix.classes,
      opts.declared > 0 ? opts.declared : highest + 1,
    );
    const last = recent.slice(-opts.window);
    assertMatches(
      matrix.figures("recent"),
      reference(last, opts.declared, binary, opts.positive),
    );
    assertMatches(
      matrix.figures("lifetime"),
      reference(lifetime, opts.declared, binary, opts.positive),
    );
  }
  const counts = Array(matrix.classes).fill(0);
  for (const [p] of lifetime) counts[p]++;
  assert.deepEqual(matrix.predictedCounts(), counts);
}

Deno.test("ConfusionMatrix figures equal a naive reference's, binary and multi-class, declared and learned", () => {
  fc.assert(
    fc.property(scenarios, ({ options: opts, ops }) => {
      check(new ConfusionMatrix(opts), opts, ops, [], []);
    }),
    { numRuns: 300 },
  );
});

Deno.test("ConfusionMatrix restored mid-stream goes on exactly as the original", async (t) => {
  await t.step("a hand-picked stream", () => {
    const opts = options({ window: 5, maxClasses: 6 });
    const pairs: Pair[] = [];
    for (let i = 0; i < 30; i++) pairs.push([(i * 7) % 5, (i * 3) % 4]);
    const original = new ConfusionMatrix(opts);
    feed(original, pairs.slice(0, 13));
    const json = JSON.parse(JSON.stringify(original));
    assert.deepEqual(json, original.toJSON());
    const restored = ConfusionMatrix.fromJSON(json, opts);
    assert.deepEqual(restored.toJSON(), original.toJSON());
    for (const [p, a] of pairs.slice(13)) {
      original.add(p, a);
      restored.add(p, a);
      assert.deepEqual(restored.figures("recent"), original.figures("recent"));
      assert.deepEqual(
        restored.figures("lifetime"),
        original.figures("lifetime"),
      );
    }
    assert.deepEqual(restored.toJSON(), original.toJSON());
  });

  await t.step("any stream, cut anywhere (fast-check)", () => {
    fc.assert(
      fc.property(scenarios, ({ options: opts, ops, cut }) => {
        const at = ops.length === 0 ? 0 : cut % (ops.length + 1);
        const original = new ConfusionMatrix(opts);
        const lifetime: Pair[] = [];
        const recent: Pair[] = [];
        check(original, opts, ops.slice(0, at), lifetime, recent);
        const json = JSON.parse(JSON.stringify(original.toJSON()));
        const restored = ConfusionMatrix.fromJSON(json, opts);
        assert.deepEqual(restored.toJSON(), original.toJSON());
        // Both checked against the lists so far: as if never cut.
        check(original, opts, ops.slice(at), [...lifetime], [...recent]);
        check(restored, opts, ops.slice(at), lifetime, recent);
        assert.deepEqual(restored.toJSON(), original.toJSON());
      }),
      { numRuns: 150 },
    );
  });

  await t.step(
    "through toBytes() and fromBytes(), any stream, cut anywhere (fast-check)",
    () => {
      fc.assert(
        fc.property(scenarios, ({ options: opts, ops, cut }) => {
          const at = ops.length === 0 ? 0 : cut % (ops.length + 1);
          const original = new ConfusionMatrix(opts);
          const lifetime: Pair[] = [];
          const recent: Pair[] = [];
          check(original, opts, ops.slice(0, at), lifetime, recent);
          const restored = ConfusionMatrix.fromBytes(original.toBytes(), opts);
          assert.deepEqual(restored.toJSON(), original.toJSON());
          check(restored, opts, ops.slice(at), lifetime, recent);
        }),
        { numRuns: 150 },
      );
    },
  );

  await t.step("fromBytes() refuses bytes that are not a state", () => {
    const opts = options({ window: 4 });
    const matrix = new ConfusionMatrix(opts);
    feed(matrix, [[0, 1], [1, 1]]);
    const bytes = matrix.toBytes();
    for (
      const bad of [new Uint8Array(3), bytes.subarray(0, bytes.length - 4)]
    ) {
      assert.throws(
        () => ConfusionMatrix.fromBytes(bad, opts),
        (error) =>
          error instanceof TypeError &&
          /toBytes\(\) of one/.test(error.message),
      );
    }
  });

  await t.step(
    "restored with a smaller window, it keeps the newest pairs",
    () => {
      const pairs: Pair[] = [[0, 0], [1, 0], [1, 1], [0, 1], [1, 1]];
      const original = new ConfusionMatrix(options({ window: 10 }));
      feed(original, pairs);
      const restored = ConfusionMatrix.fromJSON(
        original.toJSON(),
        options({ window: 3 }),
      );
      assert.deepEqual(restored.figures("recent"), figures(pairs.slice(2)));
      assert.deepEqual(restored.figures("lifetime"), figures(pairs));
    },
  );
});

Deno.test("ConfusionMatrix.fromJSON() rejects a malformed state, naming the field", async (t) => {
  const good = {
    classes: 2,
    lifetime: [3, 1, 0, 2],
    recentPredicted: [0, 1],
    recentActual: [0, 0],
  };
  assert.equal(
    ConfusionMatrix.fromJSON(good, options()).figures("lifetime").predictions,
    6,
  );
  const cases: [unknown, string][] = [
    [null, "expected the toJSON() of one, got null"],
    [[], "expected the toJSON() of one, got an array"],
    ["{}", 'expected the toJSON() of one, got "{}"'],
    [
      { ...good, classes: undefined },
      "classes must be an integer from 0 to 8, got undefined",
    ],
    [
      { ...good, classes: -1 },
      "classes must be an integer from 0 to 8, got -1",
    ],
    [
      { ...good, classes: 1.5 },
      "classes must be an integer from 0 to 8, got 1.5",
    ],
    [{ ...good, classes: 9 }, "classes must be an integer from 0 to 8, got 9"],
    [
      { ...good, lifetime: "3,1,0,2" },
      'lifetime must be an array, got "3,1,0,2"',
    ],
    [
      { ...good, lifetime: [3, 1, 0] },
      "lifetime must hold classes × classes = 4 counts, got 3",
    ],
    [
      { ...good, lifetime: [3, -1, 0, 2] },
      "lifetime[1] must be an integer from 0 to 9007199254740991, got -1",
    ],
    [
      { ...good, lifetime: [3, 1, 0.5, 2] },
      "lifetime[2] must be an integer from 0 to 9007199254740991, got 0.5",
    ],
    [
      { ...good, lifetime: [3, 1, 0, "2"] },
      'lifetime[3] must be an integer from 0 to 9007199254740991, got "2"',
    ],
    [
      { ...good, recentPredicted: [0, 2] },
      "recentPredicted[1] must be an integer from 0 to 1, got 2",
    ],
    [
      { ...good, recentActual: [0, null] },
      "recentActual[1] must be an integer from 0 to 1, got null",
    ],
    [
      { ...good, recentActual: {} },
      "recentActual must be an array, got an object",
    ],
    [
      { ...good, recentActual: [0] },
      "recentActual must hold as many classes as recentPredicted (2), got 1",
    ],
    [
      { ...good, recentPredicted: [1, 1], recentActual: [0, 0] },
      "recentPredicted[1] and recentActual[1] make more (predicted 1, actual 0) pairs than lifetime counts (1)",
    ],
    [
      { classes: 0, lifetime: [], recentPredicted: [0], recentActual: [0] },
      "recentPredicted must be empty while classes is 0, got 1 items",
    ],
  ];
  for (const [json, message] of cases) {
    await t.step(message, () => {
      assert.throws(() => ConfusionMatrix.fromJSON(json, options()), {
        name: "TypeError",
        message: `Cannot restore a ConfusionMatrix: ${message}`,
      });
    });
  }

  await t.step("classes beyond the declared ones", () => {
    assert.throws(
      () =>
        ConfusionMatrix.fromJSON(
          { ...good, classes: 3, lifetime: Array(9).fill(0) },
          options({ declared: 2 }),
        ),
      {
        name: "TypeError",
        message:
          "Cannot restore a ConfusionMatrix: classes must be an integer from 0 to 2, got 3",
      },
    );
  });

  await t.step("bad options are a RangeError, as for the constructor", () => {
    assert.throws(
      () => ConfusionMatrix.fromJSON(good, options({ window: 0 })),
      RangeError,
    );
  });
});

Deno.test("new ConfusionMatrix() rejects each invalid option, naming it and its value", async (t) => {
  const cases: [Partial<ConfusionMatrixOptions>, string][] = [
    [{ window: 0 }, "window must be an integer at least 1, got 0"],
    [{ window: 2.5 }, "window must be an integer at least 1, got 2.5"],
    [{ window: NaN }, "window must be an integer at least 1, got NaN"],
    [
      { window: "10" as unknown as number },
      'window must be an integer at least 1, got "10"',
    ],
    [{ maxClasses: 1 }, "maxClasses must be an integer at least 2, got 1"],
    [
      { maxClasses: Infinity },
      "maxClasses must be an integer at least 2, got Infinity",
    ],
    [
      { declared: 1 },
      "declared must be 0 (classes learned) or an integer from 2 to maxClasses (8), got 1",
    ],
    [
      { declared: -2 },
      "declared must be 0 (classes learned) or an integer from 2 to maxClasses (8), got -2",
    ],
    [
      { declared: 9 },
      "declared must be 0 (classes learned) or an integer from 2 to maxClasses (8), got 9",
    ],
    [
      { declared: 2.5 },
      "declared must be 0 (classes learned) or an integer from 2 to maxClasses (8), got 2.5",
    ],
    [
      { positive: -2 },
      "positive must be -1 (not known) or an integer from 0 to 7, got -2",
    ],
    [
      { positive: 8 },
      "positive must be -1 (not known) or an integer from 0 to 7, got 8",
    ],
    [
      { declared: 3, positive: 3 },
      "positive must be -1 (not known) or an integer from 0 to 2, got 3",
    ],
    [
      { positive: 0.5 },
      "positive must be -1 (not known) or an integer from 0 to 7, got 0.5",
    ],
  ];
  for (const [overrides, message] of cases) {
    await t.step(message, () => {
      assert.throws(() => new ConfusionMatrix(options(overrides)), {
        name: "RangeError",
        message: `Cannot create ConfusionMatrix: ${message}`,
      });
    });
  }

  await t.step("the positive setter checks as the constructor does", () => {
    const matrix = new ConfusionMatrix(options({ declared: 2, positive: -1 }));
    assert.throws(() => matrix.positive = 2, {
      name: "RangeError",
      message:
        "Cannot set ConfusionMatrix.positive: positive must be -1 (not known) or an integer from 0 to 1, got 2",
    });
    assert.equal(matrix.positive, -1);
    matrix.positive = 0;
    assert.equal(matrix.positive, 0);
  });
});
