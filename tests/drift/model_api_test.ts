// The model-monitor API end to end: registry.model() and watch() through
// real aggregation workers, checked against confusion matrices computed by
// hand and against the pure detectors fed the same streams.
import assert from "node:assert/strict";
import { Registry, type RegistryOptions } from "../../src/metrics/mod.ts";
import { checkModelOptions, type Model } from "../../src/metrics/model.ts";
import {
  type DriftEvent,
  ModelInputError,
  type ModelOptions,
  type ModelUpdate,
} from "../../src/drift/model_types.ts";
import { DDM } from "../../src/drift/ddm.ts";
import { PageHinkley } from "../../src/drift/page_hinkley.ts";
import {
  ignoreWithoutPromtool,
  ignoreWithoutPython,
  parseOpenMetrics,
  promtoolCheck,
  recordingLogger,
} from "../_tools.ts";

const noPromtool = await ignoreWithoutPromtool();
const noPython = await ignoreWithoutPython();

function newRegistry(options: RegistryOptions = {}) {
  const logger = recordingLogger();
  return { registry: new Registry({ logger, ...options }), logger };
}

/** The value of one sample line, such as `name{labels}`; fails when absent. */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  assert.ok(line !== undefined, `no sample ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

/** The sample lines that start with `prefix`. */
function lines(text: string, prefix: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(prefix));
}

/** Records `[prediction, actual]` pairs one by one. */
function recordPairs(
  model: Model,
  pairs: readonly (readonly [string | number, string | number])[],
): void {
  for (const [prediction, actual] of pairs) model.record(prediction, actual);
}

/** The four quality gauges of a model and window, from the metrics text. */
function qualitySamples(text: string, model: string, window: string) {
  const labels = `{model_name="${model}",window="${window}"}`;
  return {
    accuracy: sample(text, `ml_model_accuracy${labels}`),
    precision: sample(text, `ml_model_precision${labels}`),
    recall: sample(text, `ml_model_recall${labels}`),
    f1Score: sample(text, `ml_model_f1_score${labels}`),
  };
}

// An error rate of 10 % for 200 updates, then 50 % for 100: DDM (River's
// defaults) drifts in the second part (the example of DDM's docs).
const ERRORS_300: readonly boolean[] = [
  ...Array.from({ length: 200 }, (_, i) => i % 10 === 0),
  ...Array.from({ length: 100 }, (_, i) => i % 2 === 0),
];

/** A classifier's updates that make `errors` the error stream: 1 for 0 on an error. */
function errorUpdates(errors: readonly boolean[]): ModelUpdate[] {
  return errors.map((error) => ({ prediction: error ? 1 : 0, actual: 0 }));
}

type Expected = Pick<DriftEvent, "severity" | "updates" | "score">;

/**
 * The events a monitor reports for a detector fed `xs`: each drift, and
 * each entry into the warning zone, at its 1-based update.
 */
function expectedEvents<X>(
  detector: { update(x: X): string; readonly score: number },
  xs: readonly X[],
  offset = 0,
): Expected[] {
  const events: Expected[] = [];
  let previous = "stable";
  xs.forEach((x, i) => {
    const state = detector.update(x);
    const updates = offset + i + 1;
    if (state === "drift") {
      events.push({ severity: "drift", updates, score: detector.score });
    } else if (state === "warning" && previous !== "warning") {
      events.push({ severity: "warning", updates, score: detector.score });
    }
    previous = state;
  });
  return events;
}

function project(events: readonly DriftEvent[]): Expected[] {
  return events.map(({ severity, updates, score }) => ({
    severity,
    updates,
    score,
  }));
}

Deno.test("model() reports a binary model's figures by hand, in status() and in the metrics text", async () => {
  const { registry } = newRegistry();
  try {
    const model = registry.model({ name: "m", classes: [0, 1] });
    // (prediction, actual): TP TP FP TN FN TN FP TP TN TN.
    recordPairs(model, [
      [1, 1],
      [1, 1],
      [1, 0],
      [0, 0],
      [0, 1],
      [0, 0],
      [1, 0],
      [1, 1],
      [0, 0],
      [0, 0],
    ]);
    //              predicted 0  predicted 1
    // actual 0          4            2
    // actual 1          1            3
    // Positive class 1: TP 3, FP 2, FN 1.
    const figures = {
      predictions: 10,
      accuracy: 7 / 10,
      precision: 3 / 5,
      recall: 3 / 4,
      f1Score: 2 * 3 / (2 * 3 + 2 + 1),
    };
    const status = await model.status();
    assert.equal(status.name, "m");
    assert.equal(status.binary, true);
    assert.equal(status.regression, false);
    assert.deepEqual(status.classes, ["0", "1"]);
    assert.equal(status.predictions, 10);
    assert.deepEqual(status.quality, { recent: figures, lifetime: figures });

    const text = await registry.metrics();
    const { predictions: _, ...gauges } = figures;
    assert.deepEqual(qualitySamples(text, "m", "recent"), gauges);
    assert.deepEqual(qualitySamples(text, "m", "lifetime"), gauges);
    assert.match(
      text,
      /^ml_model_accuracy\{model_name="m",window="recent"\} 0\.7$/m,
    );
    assert.match(
      text,
      /^ml_model_recall\{model_name="m",window="lifetime"\} 0\.75$/m,
    );
    assert.deepEqual(lines(text, "ml_predictions_total{"), [
      'ml_predictions_total{model_name="m",predicted_class="0"} 5',
      'ml_predictions_total{model_name="m",predicted_class="1"} 5',
    ]);
  } finally {
    await registry.close();
  }
});

Deno.test("model() reports a three-class model's macro averages by hand", async () => {
  const { registry } = newRegistry();
  try {
    const model = registry.model({
      name: "animals",
      classes: ["cat", "dog", "fox"],
    });
    //             cat  dog  fox   (predicted)
    // actual cat   3    0    1
    // actual dog   0    2    2
    // actual fox   1    0    2
    // Predicted: cat 4, dog 2, fox 5; actual: cat 4, dog 4, fox 3.
    recordPairs(model, [
      ["cat", "cat"],
      ["fox", "dog"],
      ["cat", "cat"],
      ["fox", "cat"],
      ["dog", "dog"],
      ["cat", "fox"],
      ["fox", "fox"],
      ["cat", "cat"],
      ["fox", "dog"],
      ["dog", "dog"],
      ["fox", "fox"],
    ]);
    const figures = {
      predictions: 11,
      accuracy: 7 / 11,
      precision: (3 / 4 + 2 / 2 + 2 / 5) / 3,
      recall: (3 / 4 + 2 / 4 + 2 / 3) / 3,
      f1Score: (6 / 8 + 4 / 6 + 4 / 8) / 3,
    };
    const status = await model.status();
    assert.equal(status.binary, false);
    assert.deepEqual(status.quality, { recent: figures, lifetime: figures });
    const text = await registry.metrics();
    const { predictions: _, ...gauges } = figures;
    assert.deepEqual(qualitySamples(text, "animals", "lifetime"), gauges);
    assert.deepEqual(lines(text, "ml_predictions_total{"), [
      'ml_predictions_total{model_name="animals",predicted_class="cat"} 4',
      'ml_predictions_total{model_name="animals",predicted_class="dog"} 2',
      'ml_predictions_total{model_name="animals",predicted_class="fox"} 5',
    ]);
  } finally {
    await registry.close();
  }
});

Deno.test("model() counts a declared class never predicted with precision 0 (zero_division=0)", async () => {
  const { registry } = newRegistry();
  try {
    const model = registry.model({ name: "m", classes: [0, 1, 2, 3] });
    //           0  1  2  3   (predicted)
    // actual 0  2  1  0  0
    // actual 1  0  2  0  0
    // actual 2  1  1  0  0
    // actual 3  0  0  0  0
    // Class 2 is never predicted (precision 0, recall 0); class 3 never
    // appears, and is still in the macro averages since it is declared.
    recordPairs(model, [
      [0, 0],
      [1, 0],
      [0, 0],
      [1, 1],
      [0, 2],
      [1, 1],
      [1, 2],
    ]);
    const figures = {
      predictions: 7,
      accuracy: 4 / 7,
      precision: (2 / 3 + 2 / 4 + 0 + 0) / 4,
      recall: (2 / 3 + 2 / 2 + 0 + 0) / 4,
      f1Score: (4 / 6 + 4 / 6 + 0 + 0) / 4,
    };
    const status = await model.status();
    assert.deepEqual(status.quality?.lifetime, figures);
    const text = await registry.metrics();
    assert.equal(
      sample(text, 'ml_model_precision{model_name="m",window="recent"}'),
      figures.precision,
    );
    assert.deepEqual(lines(text, "ml_predictions_total{"), [
      'ml_predictions_total{model_name="m",predicted_class="0"} 3',
      'ml_predictions_total{model_name="m",predicted_class="1"} 4',
      'ml_predictions_total{model_name="m",predicted_class="2"} 0',
      'ml_predictions_total{model_name="m",predicted_class="3"} 0',
    ]);
  } finally {
    await registry.close();
  }
});

Deno.test("model() with window 4 reports the last four predictions as recent", async () => {
  const { registry } = newRegistry();
  try {
    const model = registry.model({ name: "m", classes: [0, 1], window: 4 });
    // 1 TP, 2 TP, 3 FP, 4 FP, 5 FN, 6 TN, 7 TP.
    recordPairs(model, [
      [1, 1],
      [1, 1],
      [1, 0],
      [1, 0],
      [0, 1],
      [0, 0],
      [1, 1],
    ]);
    // Lifetime: TP 3, FP 2, FN 1, TN 1.
    const lifetime = {
      predictions: 7,
      accuracy: 4 / 7,
      precision: 3 / 5,
      recall: 3 / 4,
      f1Score: 6 / 9,
    };
    // Recent, updates 4 to 7: FP FN TN TP, so TP 1, FP 1, FN 1, TN 1.
    const recent = {
      predictions: 4,
      accuracy: 2 / 4,
      precision: 1 / 2,
      recall: 1 / 2,
      f1Score: 2 / 4,
    };
    const status = await model.status();
    assert.deepEqual(status.quality, { recent, lifetime });
    const text = await registry.metrics();
    const { predictions: _r, ...recentGauges } = recent;
    const { predictions: _l, ...lifetimeGauges } = lifetime;
    assert.deepEqual(qualitySamples(text, "m", "recent"), recentGauges);
    assert.deepEqual(qualitySamples(text, "m", "lifetime"), lifetimeGauges);
  } finally {
    await registry.close();
  }
});

Deno.test('model() takes the labels 1 and "1" as one class', async (t) => {
  const { registry } = newRegistry();
  try {
    // (prediction, actual): TP TP TN FN FP, whatever the labels' types.
    const pairs = [[1, "1"], ["1", 1], ["0", 0], [0, "1"], ["1", "0"]] as const;
    const figures = {
      predictions: 5,
      accuracy: 3 / 5,
      precision: 2 / 3,
      recall: 2 / 3,
      f1Score: 4 / 6,
    };
    for (
      const [name, classes] of [
        ["numbers", [0, 1]],
        ["strings", ["0", "1"]],
        ["learned", undefined],
      ] as const
    ) {
      await t.step(`classes ${name}`, async () => {
        const model = registry.model(
          classes === undefined ? { name } : { name, classes },
        );
        recordPairs(model, pairs);
        const status = await model.status();
        // Learned in the order met: "1" first.
        assert.deepEqual(
          status.classes,
          classes === undefined ? ["1", "0"] : ["0", "1"],
        );
        assert.equal(status.predictions, 5);
        assert.equal(status.binary, true);
        assert.deepEqual(status.quality?.lifetime, figures);
        const text = await registry.metrics();
        assert.equal(
          sample(
            text,
            `ml_predictions_total{model_name="${name}",predicted_class="1"}`,
          ),
          3,
        );
        assert.deepEqual(
          lines(text, `vigil_model_predictions_refused_total{`),
          [],
        );
      });
    }
  } finally {
    await registry.close();
  }
});

Deno.test("model() without classes learns them and counts ml_predictions_total by predicted class", async () => {
  const { registry } = newRegistry();
  try {
    const model = registry.model({ name: "mail" });
    assert.equal(model.classes, undefined);
    recordPairs(model, [
      ["spam", "spam"],
      ["ham", "spam"],
      ["ham", "ham"],
      ["eggs", "ham"],
      ["ham", "ham"],
    ]);
    // Learned in the order met: spam, ham, eggs.
    //              spam  ham  eggs   (predicted)
    // actual spam    1    1    0
    // actual ham     0    2    1
    // actual eggs    0    0    0
    // Three classes: macro averages over the classes present.
    const figures = {
      predictions: 5,
      accuracy: 3 / 5,
      precision: (1 / 1 + 2 / 3 + 0 / 1) / 3,
      recall: (1 / 2 + 2 / 3 + 0) / 3,
      f1Score: (2 / 3 + 4 / 6 + 0) / 3,
    };
    const status = await model.status();
    assert.deepEqual(status.classes, ["spam", "ham", "eggs"]);
    assert.equal(status.binary, false);
    assert.deepEqual(status.quality, { recent: figures, lifetime: figures });
    const text = await registry.metrics();
    assert.deepEqual(lines(text, "ml_predictions_total{"), [
      'ml_predictions_total{model_name="mail",predicted_class="spam"} 1',
      'ml_predictions_total{model_name="mail",predicted_class="ham"} 3',
      'ml_predictions_total{model_name="mail",predicted_class="eggs"} 1',
    ]);
  } finally {
    await registry.close();
  }
});

Deno.test("model() without classes finds the positive class 1 once it learns it", async () => {
  const { registry } = newRegistry();
  try {
    const model = registry.model({ name: "m" });
    // "0" is learned first, so class 1 is index 1. TN, TP, FP.
    recordPairs(model, [[0, 0], [1, 1], [1, 0]]);
    const status = await model.status();
    assert.deepEqual(status.classes, ["0", "1"]);
    assert.equal(status.binary, true);
    assert.deepEqual(status.quality?.lifetime, {
      predictions: 3,
      accuracy: 2 / 3,
      precision: 1 / 2,
      recall: 1 / 1,
      f1Score: 2 / 3,
    });
  } finally {
    await registry.close();
  }
});

Deno.test("checkModelOptions() completes good options with their defaults", async (t) => {
  await t.step("a classifier", () => {
    assert.deepEqual(
      checkModelOptions({
        name: "m",
        classes: [0, "1"],
        detectors: [{ kind: "ddm" }, { kind: "adwin", input: "confidence" }],
      }),
      {
        name: "m",
        classes: ["0", "1"],
        window: 1000,
        positiveClass: "1",
        maxClasses: 2,
        regression: false,
        detectors: [
          { kind: "ddm", input: "error", options: {}, type: "ddm" },
          { kind: "adwin", input: "confidence", options: {}, type: "adwin" },
        ],
      },
    );
  });
  await t.step("a kind twice gets its input in detector_type", () => {
    const checked = checkModelOptions({
      name: "m",
      detectors: [
        { kind: "adwin", delta: 0.01 },
        { kind: "adwin", input: "confidence" },
      ],
    });
    assert.equal(checked.maxClasses, 64);
    assert.equal(checked.classes, undefined);
    assert.deepEqual(checked.detectors.map((d) => d.type), [
      "adwin_error",
      "adwin_confidence",
    ]);
    assert.deepEqual(checked.detectors[0]?.options, { delta: 0.01 });
  });
  await t.step("a residual detector makes a regression model", () => {
    const checked = checkModelOptions({
      name: "r",
      detectors: [{ kind: "page_hinkley", input: "residual" }],
    });
    assert.equal(checked.regression, true);
  });
});

Deno.test("registry.model() refuses bad options, naming the field and the value", async (t) => {
  const { registry } = newRegistry();
  try {
    const cases: [string, ModelOptions, ErrorConstructor, RegExp][] = [
      [
        "a window of 0",
        { name: "x", window: 0 },
        RangeError,
        /^Cannot create model "x": window must be an integer from 1 to 1000000, got 0$/,
      ],
      [
        "a fractional window",
        { name: "x", window: 2.5 },
        RangeError,
        /window must be an integer from 1 to 1000000, got 2\.5$/,
      ],
      [
        "maxClasses 1",
        { name: "x", maxClasses: 1 },
        RangeError,
        /^Cannot create model "x": maxClasses must be an integer from 2 to 1024, got 1$/,
      ],
      [
        "maxClasses past 1024",
        { name: "x", maxClasses: 1025 },
        RangeError,
        /maxClasses must be an integer from 2 to 1024, got 1025$/,
      ],
      [
        "a class repeated as a number and a string",
        { name: "x", classes: [0, 1, "0"] },
        RangeError,
        /^Cannot create model "x": classes\[2\] repeats the class "0"$/,
      ],
      [
        "a single class",
        { name: "x", classes: ["only"] },
        RangeError,
        /classes must hold from 2 to 1024 classes, got 1$/,
      ],
      [
        "classes on a regression model",
        { name: "x", regression: true, classes: [0, 1] },
        RangeError,
        /^Cannot create model "x": classes cannot be declared for a regression model$/,
      ],
      [
        "an unknown detector kind",
        { name: "x", detectors: [{ kind: "kswin" as "ddm" }] },
        TypeError,
        /^Cannot declare model "x" detectors\[0\]: kind must be one of ddm, eddm, hddm_a, page_hinkley, adwin, got "kswin"$/,
      ],
      [
        "an unknown detector option",
        {
          name: "x",
          detectors: [{ kind: "ddm" }, { kind: "eddm", threshold: 1 }],
        },
        TypeError,
        /^Cannot declare model "x" detectors\[1\]: eddm has no option "threshold"; its options are warmStart, alpha, beta$/,
      ],
      [
        "an out-of-range detector option",
        { name: "x", detectors: [{ kind: "ddm", warmStart: -3 }] },
        RangeError,
        /^Cannot declare model "x" detectors\[0\]: Cannot create DDM: warmStart must be an integer at least 1, got -3$/,
      ],
      [
        "ddm on the confidence",
        { name: "x", detectors: [{ kind: "ddm", input: "confidence" }] },
        RangeError,
        /detectors\[0\]: ddm takes only the "error" input \(0 or 1\), got "confidence"$/,
      ],
      [
        "a residual input on a classifier",
        {
          name: "x",
          regression: false,
          detectors: [{ kind: "adwin", input: "residual" }],
        },
        RangeError,
        /detectors\[0\]: the "residual" input needs a regression model \(regression: true\)$/,
      ],
      [
        "a residual input beside declared classes",
        {
          name: "x",
          classes: [0, 1],
          detectors: [{ kind: "adwin", input: "residual" }],
        },
        RangeError,
        /classes cannot be declared for a regression model$/,
      ],
      [
        "one kind twice on one input (the default)",
        {
          name: "x",
          detectors: [{ kind: "adwin" }, { kind: "adwin", input: "error" }],
        },
        RangeError,
        /^Cannot create model "x": detectors\[0\] repeats adwin on the "error" input$/,
      ],
      [
        "an empty name",
        { name: "" },
        TypeError,
        /^Cannot create a model: name must be a non-empty string, got ""$/,
      ],
    ];
    for (const [what, options, type, message] of cases) {
      await t.step(what, () => {
        assert.throws(() => checkModelOptions(options), type);
        assert.throws(() => registry.model(options), (error) => {
          assert.ok(error instanceof type, String(error));
          assert.equal(error.name, type.name);
          assert.match(error.message, message);
          return true;
        });
      });
    }
    await t.step("a failed model does not take its name", () => {
      assert.equal(registry.model({ name: "x" }).name, "x");
      assert.deepEqual(registry.models().map((m) => m.name), ["x"]);
    });
    await t.step("a duplicate name", () => {
      assert.throws(() => registry.model({ name: "x", classes: [0, 1] }), {
        name: "TypeError",
        message:
          'Cannot create model "x": a model or watch with this name exists',
      });
    });
  } finally {
    await registry.close();
  }
});

Deno.test("record() does not apply bad predictions and counts them by reason", async (t) => {
  const { registry, logger } = newRegistry();
  try {
    const refused = (text: string, model: string, reason: string) =>
      sample(
        text,
        `vigil_model_predictions_refused_total{model_name="${model}",reason="${reason}"}`,
      );

    await t.step("an undeclared class", async () => {
      const model = registry.model({ name: "declared", classes: [0, 1] });
      model.record(0, 0);
      model.record(2, 0);
      model.record(1, "two");
      const status = await model.status();
      assert.equal(status.predictions, 1);
      assert.deepEqual(status.classes, ["0", "1"]);
      const text = await registry.metrics();
      assert.equal(refused(text, "declared", "undeclared_class"), 2);
      assert.equal(
        sample(
          text,
          'ml_predictions_total{model_name="declared",predicted_class="0"}',
        ),
        1,
      );
    });

    await t.step("a class past maxClasses", async () => {
      const model = registry.model({ name: "learned", maxClasses: 2 });
      model.record("a", "a");
      model.record("b", "a");
      model.record("c", "a");
      model.record("a", "d");
      const status = await model.status();
      assert.equal(status.predictions, 2);
      assert.deepEqual(status.classes, ["a", "b"]);
      const text = await registry.metrics();
      assert.equal(refused(text, "learned", "class_overflow"), 2);
    });

    await t.step("a proba outside [0, 1]", async () => {
      const model = registry.model({ name: "proba", classes: [0, 1] });
      model.record(1, 1, 0.75);
      model.record(1, 1, 1.5);
      model.record(1, 1, -0.1);
      model.record(1, 1, NaN);
      const status = await model.status();
      assert.equal(status.predictions, 1);
      const text = await registry.metrics();
      assert.equal(refused(text, "proba", "proba"), 3);
      // Only the good proba reached the confidence histogram.
      assert.equal(
        sample(text, 'ml_prediction_confidence_count{model_name="proba"}'),
        1,
      );
      assert.equal(
        sample(text, 'ml_prediction_confidence_sum{model_name="proba"}'),
        0.75,
      );
    });

    await t.step("a value that is not finite", async () => {
      const regression = registry.model({ name: "reg", regression: true });
      regression.record(1.5, 1);
      regression.record(NaN, 1);
      regression.record(1, Infinity);
      const classifier = registry.model({ name: "inf" });
      classifier.record(Infinity, 0);
      assert.equal((await regression.status()).predictions, 1);
      assert.equal((await classifier.status()).predictions, 0);
      const text = await registry.metrics();
      assert.equal(refused(text, "reg", "value"), 2);
      assert.equal(refused(text, "inf", "value"), 1);
    });

    await t.step("each reason is logged once", () => {
      const warnings = logger.records.filter((r) =>
        r.message.startsWith("Model prediction refused")
      );
      assert.deepEqual(warnings.map((r) => r.fields), [
        {
          event: "model.prediction_refused",
          model: "declared",
          reason: "undeclared_class",
        },
        {
          event: "model.prediction_refused",
          model: "learned",
          reason: "class_overflow",
        },
        { event: "model.prediction_refused", model: "proba", reason: "proba" },
        { event: "model.prediction_refused", model: "reg", reason: "value" },
        { event: "model.prediction_refused", model: "inf", reason: "value" },
      ]);
    });

    await t.step("a label that is an object throws TypeError", async () => {
      const model = registry.model({ name: "objects" });
      assert.throws(() => model.record({ label: 1 } as never, 1), {
        name: "TypeError",
        message:
          'Cannot record a prediction of model "objects": a class label must be a string or a number, got an object',
      });
      assert.throws(() => model.record(1, null as never), TypeError);
      assert.throws(
        () => registry.getModel("reg")!.record("1" as never, 1),
        {
          name: "TypeError",
          message:
            'Cannot record a prediction of model "reg": prediction must be a number (a regression model\'s value), got "1"',
        },
      );
      assert.equal((await model.status()).predictions, 0);
    });
  } finally {
    await registry.close();
  }
});
Deno.test({
  name:
    "record() counts a prediction with two bad labels as one refused prediction",
  fn: async () => {
    const { registry } = newRegistry();
    try {
      const declared = registry.model({ name: "declared", classes: [0, 1] });
      declared.record(7, 9);
      const learned = registry.model({ name: "learned", maxClasses: 2 });
      learned.record("a", "b");
      learned.record("c", "d");
      const text = await registry.metrics();
      assert.equal(
        sample(
          text,
          'vigil_model_predictions_refused_total{model_name="declared",reason="undeclared_class"}',
        ),
        1,
      );
      assert.equal(
        sample(
          text,
          'vigil_model_predictions_refused_total{model_name="learned",reason="class_overflow"}',
        ),
        1,
      );
    } finally {
      await registry.close();
    }
  },
});
Deno.test({
  name: "record() does not learn the classes of a prediction it refuses",
  fn: async (t) => {
    const { registry } = newRegistry();
    try {
      await t.step("refused for its proba", async () => {
        const model = registry.model({ name: "proba" });
        model.record("x", "x", 1.5);
        model.record("y", "y", 0.5);
        assert.deepEqual((await model.status()).classes, ["y"]);
        assert.deepEqual(
          lines(
            await registry.metrics(),
            'ml_predictions_total{model_name="proba"',
          ),
          ['ml_predictions_total{model_name="proba",predicted_class="y"} 1'],
        );
      });
      await t.step("refused for its actual class", async () => {
        const model = registry.model({ name: "overflow", maxClasses: 2 });
        model.record("a", "a");
        model.record("b", "c"); // "c" would be a third class: refused
        model.record("d", "a"); // the second class: applied
        const status = await model.status();
        assert.deepEqual(status.classes, ["a", "d"]);
        assert.equal(status.predictions, 2);
      });
    } finally {
      await registry.close();
    }
  },
});

Deno.test("recordAll() applies nothing of a batch with a bad update and names the field", async (t) => {
  const { registry } = newRegistry();
  try {
    const model = registry.model({
      name: "m",
      classes: [0, 1],
      detectors: [{ kind: "ddm" }],
    });
    recordPairs(model, [[0, 0], [1, 1], [1, 0]]);
    const good = (): ModelUpdate[] =>
      Array.from({ length: 10 }, (_, i) => ({
        prediction: i % 2,
        actual: 0,
        proba: 0.5,
      }));
    const cases: [string, (updates: ModelUpdate[]) => void, string, RegExp][] =
      [
        [
          "a proba past 1 at index 5",
          (u) => u[5] = { prediction: 1, actual: 1, proba: 1.5 },
          "updates[5].proba",
          /^must be a number from 0 to 1, got 1\.5$/,
        ],
        [
          "a missing prediction",
          (u) => u[2] = { actual: 1 } as ModelUpdate,
          "updates[2].prediction",
          /^is missing$/,
        ],
        [
          "an undeclared actual class",
          (u) => u[7] = { prediction: 1, actual: 2 },
          "updates[7].actual",
          /^is not a declared class: "2" is not one of "0", "1"$/,
        ],
        [
          "an object as a label",
          (u) => u[9] = { prediction: {} as never, actual: 1 },
          "updates[9].prediction",
          /^must be a class label \(a string or a finite number\), got an object$/,
        ],
        [
          "a proba of NaN",
          (u) => u[0] = { prediction: 0, actual: 0, proba: NaN },
          "updates[0].proba",
          /got NaN$/,
        ],
      ];
    for (const [what, spoil, field, reason] of cases) {
      await t.step(what, async () => {
        const updates = good();
        spoil(updates);
        assert.throws(() => model.recordAll(updates), (error) => {
          assert.ok(error instanceof ModelInputError);
          assert.ok(error instanceof TypeError);
          assert.equal(error.name, "ModelInputError");
          assert.equal(error.field, field);
          assert.match(error.reason, reason);
          assert.equal(
            error.message,
            `Cannot record a prediction of model "m": ${field} ${error.reason}`,
          );
          return true;
        });
        const status = await model.status();
        assert.equal(status.predictions, 3);
        assert.equal(status.detectors[0]?.updates, 3);
        assert.equal(status.quality?.lifetime.predictions, 3);
      });
    }
    await t.step("the first bad field is named", () => {
      const updates = good();
      updates[3] = { prediction: 5, actual: 0 };
      updates[1] = { prediction: 0, actual: 0, proba: -1 };
      assert.throws(() => model.recordAll(updates), {
        field: "updates[1].proba",
      });
    });
    await t.step("not an array", () => {
      assert.throws(() => model.recordAll({} as never), {
        name: "ModelInputError",
        field: "updates",
      });
    });
    await t.step("a learned class past maxClasses", async () => {
      const learned = registry.model({ name: "learned", maxClasses: 3 });
      learned.record("a", "a");
      assert.throws(
        () =>
          learned.recordAll([
            { prediction: "a", actual: "b" },
            { prediction: "c", actual: "b" },
            { prediction: "b", actual: "d" },
          ]),
        {
          name: "ModelInputError",
          field: "updates[2].actual",
          reason:
            "would be class 4 of a model that learns at most 3 (maxClasses)",
        },
      );
      const status = await learned.status();
      assert.deepEqual(status.classes, ["a"]);
      assert.equal(status.predictions, 1);
    });
    await t.step("a regression model's label", async () => {
      const regression = registry.model({ name: "reg", regression: true });
      assert.throws(
        () =>
          regression.recordAll([{ prediction: 1, actual: 2 }, {
            prediction: "3",
            actual: 2,
          }]),
        {
          field: "updates[1].prediction",
          reason:
            'must be a finite number (a regression model\'s value), got "3"',
        },
      );
      assert.equal((await regression.status()).predictions, 0);
    });
  } finally {
    await registry.close();
  }
});

Deno.test("recordAll() applies a good batch whole and in order, as a pure DDM sees it", async () => {
  const { registry } = newRegistry();
  try {
    const model = registry.model({
      name: "m",
      classes: [0, 1],
      detectors: [{ kind: "ddm" }],
    });
    const received: DriftEvent[] = [];
    model.onDrift((event) => received.push(event));
    const updates = errorUpdates(ERRORS_300);
    // Two batches, so the order across calls counts too.
    model.recordAll(updates.slice(0, 150));
    model.recordAll(updates.slice(150));

    const ddm = new DDM();
    const expected = expectedEvents(ddm, ERRORS_300);
    assert.ok(expected.some((e) => e.severity === "drift"));
    const status = await model.status();
    assert.equal(status.predictions, 300);
    const detector = status.detectors[0]!;
    assert.equal(detector.updates, 300);
    assert.equal(detector.n, ddm.n);
    assert.equal(detector.score, ddm.score);
    assert.deepEqual(detector.stats, {
      p: ddm.p,
      s: ddm.s,
      pMin: ddm.pMin,
      sMin: ddm.sMin,
    });
    assert.equal(
      detector.drifts,
      expected.filter((e) => e.severity === "drift").length,
    );
    assert.deepEqual(project(received), expected);
    // 20 errors in the first 200, 50 in the last 100.
    assert.equal(status.quality?.lifetime.accuracy, 230 / 300);
  } finally {
    await registry.close();
  }
});

Deno.test("reset() restarts the detectors and the recent window; lifetime counts go on", async () => {
  const { registry } = newRegistry();
  try {
    const model = registry.model({
      name: "m",
      classes: [0, 1],
      detectors: [{ kind: "ddm" }],
    });
    model.recordAll(errorUpdates(ERRORS_300));
    const before = await model.status();
    const drifts = before.detectors[0]!.drifts;
    const warnings = before.detectors[0]!.warnings;
    assert.ok(drifts >= 1);

    await model.reset();
    const after = await model.status();
    assert.equal(after.predictions, 300);
    assert.equal(after.detectors[0]?.n, 0);
    assert.equal(after.detectors[0]?.state, "stable");
    assert.equal(after.detectors[0]?.updates, 300);
    assert.equal(after.detectors[0]?.drifts, drifts);
    assert.equal(after.detectors[0]?.warnings, warnings);
    assert.equal(
      after.detectors[0]?.lastDriftAt,
      before.detectors[0]?.lastDriftAt,
    );
    assert.deepEqual(after.quality?.recent, {
      predictions: 0,
      accuracy: NaN,
      precision: NaN,
      recall: NaN,
      f1Score: NaN,
    });
    assert.deepEqual(after.quality?.lifetime, before.quality?.lifetime);

    // Ten correct predictions after the reset.
    model.recordAll(errorUpdates(Array(10).fill(false)));
    const later = await model.status();
    assert.equal(later.predictions, 310);
    assert.equal(later.detectors[0]?.n, 10);
    assert.equal(later.detectors[0]?.updates, 310);
    assert.equal(later.detectors[0]?.drifts, drifts);
    assert.equal(later.quality?.recent.predictions, 10);
    assert.equal(later.quality?.recent.accuracy, 1);
    assert.equal(later.quality?.lifetime.predictions, 310);
    // 230 correct before, 10 after.
    assert.equal(later.quality?.lifetime.accuracy, 240 / 310);

    const text = await registry.metrics();
    assert.equal(
      sample(
        text,
        'ml_drift_detected_total{model_name="m",detector_type="ddm",severity="drift"}',
      ),
      drifts,
    );
    assert.equal(
      sample(
        text,
        'ml_drift_detected_total{model_name="m",detector_type="ddm",severity="warning"}',
      ),
      warnings,
    );
    assert.equal(
      sample(text, 'ml_drift_state{model_name="m",detector_type="ddm"}'),
      0,
    );
    assert.equal(
      sample(text, 'ml_model_accuracy{model_name="m",window="recent"}'),
      1,
    );
    assert.equal(
      sample(text, 'ml_model_accuracy{model_name="m",window="lifetime"}'),
      240 / 310,
    );
    assert.equal(
      sample(
        text,
        'ml_predictions_total{model_name="m",predicted_class="1"}',
      ),
      70,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("reset() of a model with no prediction since leaves an empty recent window in the metrics", async () => {
  const { registry } = newRegistry();
  try {
    const model = registry.model({ name: "m", classes: [0, 1] });
    recordPairs(model, [[1, 1], [0, 1]]);
    await model.reset();
    const text = await registry.metrics();
    assert.equal(
      sample(text, 'ml_model_accuracy{model_name="m",window="recent"}'),
      NaN,
    );
    assert.equal(
      sample(text, 'ml_model_accuracy{model_name="m",window="lifetime"}'),
      1 / 2,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("onDrift() calls each subscriber once per event, past one that throws", async (t) => {
  const { registry, logger } = newRegistry();
  try {
    const model = registry.model({
      name: "m",
      classes: [0, 1],
      detectors: [{ kind: "ddm" }],
    });
    const first: DriftEvent[] = [];
    const last: DriftEvent[] = [];
    let thrown = 0;
    const unsubscribe = model.onDrift((event) => first.push(event));
    model.onDrift(() => {
      thrown++;
      throw new Error("subscriber failed");
    });
    model.onDrift((event) => last.push(event));

    const ddm = new DDM();
    const expected = expectedEvents(ddm, ERRORS_300);
    const drifts = expected.filter((e) => e.severity === "drift").length;
    const warnings = expected.length - drifts;
    assert.ok(drifts >= 1 && warnings >= 1);

    await t.step("each warning and drift, once, in order", async () => {
      model.recordAll(errorUpdates(ERRORS_300));
      await model.status();
      assert.deepEqual(project(first), expected);
      assert.deepEqual(project(last), expected);
      for (const event of first) {
        assert.equal(event.model, "m");
        assert.equal(event.detector, "ddm");
        assert.equal(event.detectorIndex, 0);
        assert.equal(event.input, "error");
        assert.equal(typeof event.at, "number");
      }
    });

    await t.step("a throwing subscriber is counted and logged", async () => {
      assert.equal(thrown, expected.length);
      const text = await registry.metrics();
      assert.equal(
        sample(text, 'vigil_drift_subscriber_errors_total{model_name="m"}'),
        expected.length,
      );
      const errors = logger.records.filter((r) =>
        r.message === "onDrift subscriber threw"
      );
      assert.equal(errors.length, expected.length);
      assert.equal(errors[0]?.level, "error");
      assert.equal(errors[0]?.fields?.model, "m");
      assert.ok(errors[0]?.fields?.error instanceof Error);
      assert.equal(
        logger.records.filter((r) => r.message === "Concept drift detected")
          .length,
        drifts,
      );
      assert.equal(
        logger.records.filter((r) => r.message === "Drift warning").length,
        warnings,
      );
    });

    await t.step("the returned function unsubscribes", async () => {
      unsubscribe();
      // Good again, then errors on nine predictions in ten: a second course.
      const more = [
        ...Array.from({ length: 200 }, (_, i) => i % 10 === 0),
        ...Array.from({ length: 100 }, (_, i) => i % 10 !== 0),
      ];
      const next = expectedEvents(ddm, more, ERRORS_300.length);
      assert.ok(next.some((e) => e.severity === "drift"));
      model.recordAll(errorUpdates(more));
      await model.status();
      assert.deepEqual(project(first), expected);
      assert.deepEqual(project(last), [...expected, ...next]);
    });

    await t.step("a callback that is not a function is refused", () => {
      assert.throws(() => model.onDrift("nope" as never), {
        name: "TypeError",
        message:
          'Cannot subscribe to model "m": the callback must be a function, got "nope"',
      });
    });
  } finally {
    await registry.close();
  }
});

Deno.test("trackTraining() records runs, durations, samples and the time", async (t) => {
  let clock = 1_700_000_000_500;
  const { registry } = newRegistry({ now: () => clock });
  try {
    const model = registry.model({ name: "m", classes: [0, 1] });

    await t.step("a success and a failure", async () => {
      model.trackTraining({ durationSeconds: 12.5, samples: 1000 });
      clock = 1_700_000_100_000;
      model.trackTraining({ durationSeconds: 90, status: "failure" });
      const text = await registry.metrics();
      assert.equal(
        sample(
          text,
          'ml_training_runs_total{model_name="m",status="success"}',
        ),
        1,
      );
      assert.equal(
        sample(
          text,
          'ml_training_runs_total{model_name="m",status="failure"}',
        ),
        1,
      );
      assert.equal(
        sample(text, 'ml_training_duration_seconds_count{model_name="m"}'),
        2,
      );
      assert.equal(
        sample(text, 'ml_training_duration_seconds_sum{model_name="m"}'),
        102.5,
      );
      assert.equal(
        sample(
          text,
          'ml_training_duration_seconds_bucket{model_name="m",le="15.0"}',
        ),
        1,
      );
      assert.equal(
        sample(
          text,
          'ml_training_duration_seconds_bucket{model_name="m",le="300.0"}',
        ),
        2,
      );
      // The failure gave no samples: the last count stays.
      assert.equal(sample(text, 'ml_training_samples{model_name="m"}'), 1000);
      assert.equal(
        sample(text, 'ml_last_training_timestamp_seconds{model_name="m"}'),
        1_700_000_100,
      );
    });

    await t.step("bad input throws RangeError naming the field", async () => {
      const cases: [Parameters<Model["trackTraining"]>[0], RegExp][] = [
        [
          { durationSeconds: -1 },
          /^Cannot track a training run of model "m": durationSeconds must be a finite number of seconds, at least 0, got -1$/,
        ],
        [
          { durationSeconds: NaN },
          /durationSeconds must be a finite number of seconds, at least 0, got NaN$/,
        ],
        [
          { durationSeconds: 1, samples: 2.5 },
          /^Cannot track a training run of model "m": samples must be an integer of at least 0, got 2\.5$/,
        ],
        [
          { durationSeconds: 1, samples: -1 },
          /samples must be an integer of at least 0, got -1$/,
        ],
        [
          { durationSeconds: 1, status: "done" as "success" },
          /^Cannot track a training run of model "m": status must be "success" or "failure", got done$/,
        ],
      ];
      for (const [run, message] of cases) {
        assert.throws(() => model.trackTraining(run), (error) => {
          assert.ok(error instanceof RangeError, String(error));
          assert.match(error.message, message);
          return true;
        });
      }
      // Nothing of them was recorded.
      const text = await registry.metrics();
      assert.equal(
        sample(text, 'ml_training_duration_seconds_count{model_name="m"}'),
        2,
      );
      assert.equal(sample(text, 'ml_training_samples{model_name="m"}'), 1000);
      assert.deepEqual(lines(text, "ml_training_runs_total{"), [
        'ml_training_runs_total{model_name="m",status="success"} 1',
        'ml_training_runs_total{model_name="m",status="failure"} 1',
      ]);
    });
  } finally {
    await registry.close();
  }
});

Deno.test("model.timed() records the prediction's seconds per model, on success and failure, passing the result through", async () => {
  const { registry } = newRegistry();
  try {
    const fraud = registry.model({ name: "fraud", classes: [0, 1] });
    const churn = registry.model({ name: "churn", classes: [0, 1] });
    assert.equal(fraud.timed(() => 1), 1);
    assert.equal(
      await fraud.timed(() =>
        new Promise<number>((resolve) => setTimeout(() => resolve(0), 10))
      ),
      0,
    );
    assert.throws(
      () => churn.timed(() => assert.fail("no features")),
      /no features/,
    );
    const text = await registry.metrics();
    assert.equal(
      sample(text, 'ml_prediction_duration_seconds_count{model_name="fraud"}'),
      2,
    );
    assert.ok(
      sample(text, 'ml_prediction_duration_seconds_sum{model_name="fraud"}') >=
        0.005,
    );
    assert.equal(
      sample(text, 'ml_prediction_duration_seconds_count{model_name="churn"}'),
      1,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("watch() on a histogram series names it, reports values and drifts as a pure PageHinkley", async (t) => {
  const { registry } = newRegistry();
  try {
    const latency = registry.histogram({
      name: "latency_seconds",
      help: "Latency",
      labelNames: ["route"],
    });
    const model = registry.model({ name: "m", classes: [0, 1] });

    await t.step("the default name is metric{labels}", () => {
      const watch = latency.labels({ route: "/a" }).watch({
        kind: "page_hinkley",
        threshold: 5,
      });
      assert.equal(watch.name, 'latency_seconds{route="/a"}');
    });

    await t.step("a name option overrides it", () => {
      const watch = latency.labels({ route: "/b" }).watch({
        kind: "adwin",
        name: "latency_b",
      });
      assert.equal(watch.name, "latency_b");
    });

    await t.step(
      "an unlabelled metric's watch is named after the metric",
      () => {
        const single = registry.histogram({
          name: "predict_seconds",
          help: "P",
        });
        assert.equal(single.watch({ kind: "adwin" }).name, "predict_seconds");
      },
    );

    await t.step("ddm cannot watch, nor an unknown option", () => {
      assert.throws(
        () => latency.labels({ route: "/c" }).watch({ kind: "ddm" as "adwin" }),
        {
          name: "RangeError",
          message:
            'Cannot watch a series of "latency_seconds": kind must be "page_hinkley" or "adwin" (detectors of numbers), got "ddm"',
        },
      );
      assert.throws(
        () =>
          latency.labels({ route: "/c" }).watch({
            kind: "adwin",
            warmStart: 3,
          }),
        { name: "TypeError", message: /adwin has no option "warmStart"/ },
      );
      assert.throws(
        () =>
          latency.labels({ route: "/c" }).watch({ kind: "adwin", delta: 2 }),
        { name: "RangeError", message: /delta must be .*, got 2$/ },
      );
    });

    await t.step("a watch's name is taken among models", () => {
      assert.throws(
        () =>
          latency.labels({ route: "/d" }).watch({ kind: "adwin", name: "m" }),
        {
          name: "TypeError",
          message:
            'Cannot create model "m": a model or watch with this name exists',
        },
      );
      assert.throws(() => registry.model({ name: "latency_b" }), TypeError);
    });

    await t.step("models() and getModel() leave watches out", () => {
      assert.deepEqual(registry.models(), [model]);
      assert.equal(registry.getModel("m"), model);
      assert.equal(registry.getModel('latency_seconds{route="/a"}'), undefined);
      assert.equal(registry.getModel("latency_b"), undefined);
      assert.equal(registry.getModel("predict_seconds"), undefined);
    });

    await t.step(
      "it drifts at the update a pure PageHinkley does",
      async () => {
        const child = latency.labels({ route: "/ph" });
        const watch = child.watch({ kind: "page_hinkley", threshold: 5 });
        const received: DriftEvent[] = [];
        watch.onDrift((event) => received.push(event));
        const values = [
          ...Array.from({ length: 100 }, (_, i) => 0.01 + (i % 3) * 0.001),
          ...Array.from({ length: 100 }, (_, i) => 1 + (i % 3) * 0.01),
        ];
        for (const value of values) child.observe(value);
        // The other series of the metric feed other watches only.
        latency.labels({ route: "/b" }).observe(100);

        const ph = new PageHinkley({ threshold: 5 });
        const expected = expectedEvents(ph, values);
        assert.ok(expected.some((e) => e.severity === "drift"));
        const status = await watch.status();
        assert.equal(status.name, 'latency_seconds{route="/ph"}');
        assert.equal(status.quality, undefined);
        const detector = status.detectors[0]!;
        assert.equal(detector.kind, "page_hinkley");
        assert.equal(detector.input, "value");
        assert.equal(detector.updates, values.length);
        assert.equal(detector.n, ph.n);
        assert.equal(detector.score, ph.score);
        assert.equal(
          detector.drifts,
          expected.filter((e) => e.severity === "drift").length,
        );
        assert.deepEqual(project(received), expected);
        for (const event of received) {
          assert.equal(event.model, 'latency_seconds{route="/ph"}');
          assert.equal(event.input, "value");
          assert.equal(event.detector, "page_hinkley");
        }
        const text = await registry.metrics();
        assert.equal(
          sample(
            text,
            'ml_drift_detected_total{model_name="latency_seconds{route=\\"/ph\\"}",detector_type="page_hinkley",severity="drift"}',
          ),
          detector.drifts,
        );
        // The histogram itself still counts every observation.
        assert.equal(
          sample(text, 'latency_seconds_count{route="/ph"}'),
          values.length,
        );
      },
    );

    await t.step("reset() restarts a watch's detector", async () => {
      const watch = latency.labels({ route: "/b" }).watch({
        kind: "adwin",
        name: "latency_b2",
      });
      latency.labels({ route: "/b" }).observe(1);
      assert.equal((await watch.status()).detectors[0]?.n, 1);
      await watch.reset();
      const status = await watch.status();
      assert.equal(status.detectors[0]?.n, 0);
      assert.equal(status.detectors[0]?.updates, 1);
    });
  } finally {
    await registry.close();
  }
});

/** A registry with a classifier, a regression model and a watch, all fed. */
async function fedRegistry(): Promise<Registry> {
  const { registry } = newRegistry({ now: () => 1_700_000_000_000 });
  const classifier = registry.model({
    name: "fraud",
    classes: [0, 1],
    detectors: [{ kind: "ddm" }, { kind: "adwin", input: "confidence" }],
  });
  const regression = registry.model({
    name: "price",
    detectors: [{ kind: "page_hinkley", input: "residual" }],
  });
  const latency = registry.histogram({
    name: "latency_seconds",
    help: "Latency",
    labelNames: ["route"],
  });
  latency.labels({ route: "/a" }).watch({ kind: "adwin" });
  classifier.onDrift(() => {
    throw new Error("subscriber failed");
  });
  classifier.recordAll(
    ERRORS_300.map((error) => ({
      prediction: error ? 1 : 0,
      actual: 0,
      proba: error ? 0.55 : 0.9,
    })),
  );
  classifier.record(1, 1, 2); // refused
  classifier.trackTraining({ durationSeconds: 30, samples: 5000 });
  for (let i = 0; i < 50; i++) regression.record(i, i + (i % 5));
  for (let i = 0; i < 50; i++) latency.labels({ route: "/a" }).observe(i / 100);
  await classifier.status();
  return registry;
}

Deno.test({
  name: "promtool check metrics accepts the model and drift families",
  ignore: noPromtool,
  fn: async () => {
    const registry = await fedRegistry();
    try {
      const text = await registry.metrics();
      for (
        const family of [
          "ml_model_accuracy",
          "ml_predictions_total",
          "ml_drift_detected_total",
          "ml_prediction_confidence",
          "ml_training_runs_total",
          "vigil_model_predictions_refused_total",
          "vigil_drift_subscriber_errors_total",
        ]
      ) {
        assert.match(text, new RegExp(`^# TYPE ${family} `, "m"));
      }
      const result = await promtoolCheck(text);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(result.stdout + result.stderr, "");
    } finally {
      await registry.close();
    }
  },
});

Deno.test({
  name: "The Python OpenMetrics parser reads the model and drift families",
  ignore: noPython,
  fn: async () => {
    const registry = await fedRegistry();
    try {
      const families = await parseOpenMetrics(
        await registry.metrics({ format: "openmetrics" }),
      );
      const byName = new Map(families.map((family) => [family.name, family]));
      const type = (name: string) => byName.get(name)?.type;
      assert.equal(type("ml_model_accuracy"), "gauge");
      assert.equal(type("ml_predictions"), "counter");
      assert.equal(type("ml_drift_state"), "gauge");
      assert.equal(type("ml_drift_score"), "gauge");
      assert.equal(type("ml_drift_detected"), "counter");
      assert.equal(type("ml_prediction_confidence"), "histogram");
      assert.equal(type("ml_training_runs"), "counter");
      assert.equal(type("vigil_model_predictions_refused"), "counter");
      assert.equal(type("vigil_drift_subscriber_errors"), "counter");

      assert.deepEqual(byName.get("ml_model_accuracy")?.samples, [
        {
          name: "ml_model_accuracy",
          labels: { model_name: "fraud", window: "recent" },
          value: 230 / 300,
        },
        {
          name: "ml_model_accuracy",
          labels: { model_name: "fraud", window: "lifetime" },
          value: 230 / 300,
        },
      ]);
      assert.deepEqual(byName.get("ml_predictions")?.samples, [
        {
          name: "ml_predictions_total",
          labels: { model_name: "fraud", predicted_class: "0" },
          value: 230,
        },
        {
          name: "ml_predictions_total",
          labels: { model_name: "fraud", predicted_class: "1" },
          value: 70,
        },
      ]);
      // One series per detector, the watch's name unescaped.
      assert.deepEqual(
        byName.get("ml_drift_state")?.samples.map((s) => s.labels),
        [
          { model_name: "fraud", detector_type: "ddm" },
          { model_name: "fraud", detector_type: "adwin" },
          { model_name: "price", detector_type: "page_hinkley" },
          { model_name: 'latency_seconds{route="/a"}', detector_type: "adwin" },
        ],
      );
      const refused = byName.get("vigil_model_predictions_refused")?.samples
        .filter((s) => s.name.endsWith("_total"));
      assert.deepEqual(refused, [
        {
          name: "vigil_model_predictions_refused_total",
          labels: { model_name: "fraud", reason: "proba" },
          value: 1,
        },
      ]);
      const confidence = byName.get("ml_prediction_confidence")?.samples.find(
        (s) =>
          s.name === "ml_prediction_confidence_count" &&
          s.labels.model_name === "fraud",
      );
      assert.equal(confidence?.value, 300);
    } finally {
      await registry.close();
    }
  },
});

Deno.test("a binary model's positiveClass must be one of its two classes", () => {
  assert.throws(
    () => checkModelOptions({ name: "m", classes: ["no", "yes"] }),
    (error) =>
      error instanceof RangeError &&
      error.message ===
        'Cannot create model "m": positiveClass must be one of the two classes of a binary model ("no", "yes"), got 1',
  );
  assert.equal(
    checkModelOptions({
      name: "m",
      classes: ["no", "yes"],
      positiveClass: "yes",
    })
      .positiveClass,
    "yes",
  );
  // Multi-class models report macro averages: no positive class to check.
  checkModelOptions({ name: "m", classes: ["a", "b", "c"] });
});
