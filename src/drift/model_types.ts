// The shapes of model monitors: what a model and its detectors are declared
// with, what a prediction is, and what their status reports. Shared by the
// workers that run the monitors, the registry's model handle, the config and
// the HTTP API.
import type { DriftState } from "./types.ts";

/** A class label: numbers and strings compare as strings, so `1` and `"1"` are one class. */
export type ClassLabel = string | number;

/** The detectors a model can run, by the name River's module gives them. */
export const DETECTOR_KINDS = [
  "ddm",
  "eddm",
  "hddm_a",
  "page_hinkley",
  "adwin",
] as const;

/** One of {@linkcode DETECTOR_KINDS}. */
export type DetectorKind = typeof DETECTOR_KINDS[number];

/**
 * What a detector is fed with each prediction: `"error"` is 1 when the
 * prediction differs from the actual value and 0 otherwise; `"confidence"`
 * is the prediction's `proba`; `"residual"` is `|prediction - actual|` of a
 * regression model.
 */
export const DETECTOR_INPUTS = ["error", "confidence", "residual"] as const;

/** One of {@linkcode DETECTOR_INPUTS}. */
export type DetectorInput = typeof DETECTOR_INPUTS[number];

/**
 * A detector of a model: its kind, its input and the options of its class
 * in camelCase (see `DDMOptions`, `ADWINOptions` and the others), such as
 * `{ kind: "ddm", warmStart: 50 }` or `{ kind: "adwin", input: "confidence" }`.
 */
export interface DetectorSpec {
  /** The detector: one of {@linkcode DETECTOR_KINDS}. */
  readonly kind: DetectorKind;
  /**
   * What the detector is fed. The binary detectors (`ddm`, `eddm`,
   * `hddm_a`) take only `"error"`.
   * @default {"error"}
   */
  readonly input?: DetectorInput;
  /** The detector's options, such as `warmStart` or `delta`. */
  readonly [option: string]: unknown;
}

/** Options of `registry.model()`. */
export interface ModelOptions {
  /** The model's name: the `model_name` label of its metrics, unique in the registry. */
  readonly name: string;
  /**
   * The classes the model predicts. Declared, a label outside them is bad
   * input, and the macro averages cover every one of them (scikit-learn's
   * `labels=`); two classes make a binary model. Left out, classes are
   * learned as they come, up to `maxClasses`.
   */
  readonly classes?: readonly ClassLabel[];
  /**
   * Predictions in the `window="recent"` figures.
   * @default {1000}
   */
  readonly window?: number;
  /**
   * The class whose precision, recall and F1 a binary model reports.
   * @default {1}
   */
  readonly positiveClass?: ClassLabel;
  /**
   * Classes learned at most when `classes` is left out; a prediction with a
   * label past them is not applied, and is counted in
   * `vigil_model_predictions_refused_total{reason="class_overflow"}`.
   * @default {64}
   */
  readonly maxClasses?: number;
  /**
   * Whether `prediction` and `actual` are numbers of a regression model
   * rather than class labels: no confusion matrix, and detectors may take
   * the `"residual"` input. A model with a `"residual"` detector is one.
   * @default {false}
   */
  readonly regression?: boolean;
  /**
   * The drift detectors fed with each prediction, in this order.
   * @default {[]}
   */
  readonly detectors?: readonly DetectorSpec[];
}

/** One prediction and its outcome, as `recordAll()` and `POST /drift/update` take it. */
export interface ModelUpdate {
  /** The predicted class (a regression model's predicted value). */
  readonly prediction: ClassLabel;
  /** The actual class (a regression model's actual value). */
  readonly actual: ClassLabel;
  /** The model's confidence in its prediction, from 0 to 1. */
  readonly proba?: number;
}

/**
 * Accuracy, precision, recall and F1 over a window of predictions: of the
 * positive class in a binary model, their macro average over the classes
 * in a multi-class one. A class never predicted has precision 0 (as
 * scikit-learn's `zero_division=0`). NaN while the window is empty.
 */
export interface QualityFigures {
  /** Predictions in the window. */
  readonly predictions: number;
  /** Share of correct predictions. */
  readonly accuracy: number;
  /** Precision: of the predictions of a class, the share that were right. */
  readonly precision: number;
  /** Recall: of the actual members of a class, the share predicted. */
  readonly recall: number;
  /** F1 score: the harmonic mean of precision and recall. */
  readonly f1Score: number;
}

/** One detector of a model, as `GET /drift/status` reports it. */
export interface DetectorStatus {
  /** The detector's kind. */
  readonly kind: DetectorKind;
  /** What it is fed; `"value"` for a watch of a histogram series. */
  readonly input: DetectorInput | "value";
  /** Its state after its last update. */
  readonly state: DriftState;
  /** The detector's own count since it last started afresh (a drift restarts it). */
  readonly n: number;
  /** Every update it has seen, across drifts and resets. */
  readonly updates: number;
  /** Drifts detected. */
  readonly drifts: number;
  /** Entries into the warning zone. */
  readonly warnings: number;
  /** When the last drift was detected, in milliseconds since the Unix epoch; null before any. */
  readonly lastDriftAt: number | null;
  /** The detector's own statistic, as `ml_drift_score` exposes it (its class's `score`). */
  readonly score: number;
  /** Its running figures, such as DDM's `p`, `s`, `pMin` and `sMin`. */
  readonly stats: Readonly<Record<string, number>>;
}

/** A model's figures, as `GET /drift/status` reports them. */
export interface ModelStatus {
  /** The model's (or watch's) name. */
  readonly name: string;
  /** Whether it is a regression model (no confusion matrix). */
  readonly regression: boolean;
  /** The classes declared or learned so far, as strings. */
  readonly classes: readonly string[];
  /** Whether its figures are those of `positiveClass` (two classes) or macro averages. */
  readonly binary: boolean;
  /** Predictions applied, across resets. */
  readonly predictions: number;
  /**
   * Values not fed to the detectors because they were not finite or their
   * magnitude passed 1e100 (a residual or a watched series' value).
   */
  readonly skipped: number;
  /** Quality over the recent window and the model's lifetime; absent for regression models. */
  readonly quality?: {
    readonly recent: QualityFigures;
    readonly lifetime: QualityFigures;
  };
  /** Its detectors, in declaration order. */
  readonly detectors: readonly DetectorStatus[];
}

/** A warning (an entry into the warning zone) or a drift, as `onDrift` subscribers get it. */
export interface DriftEvent {
  /** The model's name, or the watched series' (`metric{labels}`). */
  readonly model: string;
  /** The detector's kind. */
  readonly detector: DetectorKind;
  /** The detector's position in the model's list. */
  readonly detectorIndex: number;
  /** What it is fed; `"value"` for a watch of a histogram series. */
  readonly input: DetectorInput | "value";
  /** `"warning"` on an entry into the warning zone, `"drift"` on a drift. */
  readonly severity: "warning" | "drift";
  /** The detector's `updates` at the event: the update that raised it. */
  readonly updates: number;
  /** The detector's `score` after that update. */
  readonly score: number;
  /** When the worker applied it, in milliseconds since the Unix epoch. */
  readonly at: number;
}

/**
 * Bad input to a model: thrown by `recordAll()` (and so answered with 400 by
 * `POST /drift/update`), naming the field and the reason. Nothing of the
 * batch was applied.
 */
export class ModelInputError extends TypeError {
  /** The field at fault, such as `updates[3].proba`. */
  readonly field: string;
  /** Why, such as `must be a number from 0 to 1, got 1.5`. */
  readonly reason: string;

  /**
   * Creates the error.
   *
   * @param model The model's name.
   * @param field The field at fault.
   * @param reason Why it is refused.
   */
  constructor(model: string, field: string, reason: string) {
    super(`Cannot record a prediction of model "${model}": ${field} ${reason}`);
    this.name = "ModelInputError";
    this.field = field;
    this.reason = reason;
  }
}
