// A model monitor as a worker runs it: the model's drift detectors, fed in
// the order predictions were recorded, and its confusion matrix. Pure and
// synchronous; its state serialises exactly, so a restarted worker goes on
// as the one that died would have.
import {
  type AnyDetector,
  type CheckedSpec,
  createDetector,
  detectorStats,
  restoreDetector,
} from "./detectors.ts";
import type { DetectorStatus, DriftEvent, ModelStatus } from "./model_types.ts";
import { ConfusionMatrix } from "./quality.ts";
import type { DriftState } from "./types.ts";

/** A detector of a monitor, with the `detector_type` label it is exposed under. */
export interface MonitorDetector extends CheckedSpec {
  /** Its kind, or `kind_input` where the model has two of the kind. */
  readonly type: string;
}

/** What a worker needs to run a model monitor, as the main thread declares it. */
export interface MonitorDefinition {
  /** Negative: `-(index + 1)`, apart from series ids. */
  readonly id: number;
  /** The model's name, or a watched series' `metric{labels}`. */
  readonly name: string;
  /** The label pairs of its samples, default labels and `model_name` (escaped). */
  readonly pairs: string;
  /** Whether predictions are numbers of a regression model (no confusion matrix). */
  readonly regression: boolean;
  /** Whether `classes` were declared (else learned, growing). */
  readonly declared: boolean;
  /** The classes declared or learned so far, by index. */
  readonly classes: readonly string[];
  readonly window: number;
  readonly maxClasses: number;
  /** The positive class of a binary model, as a string. */
  readonly positiveClass: string;
  readonly detectors: readonly MonitorDetector[];
  /** The id of the histogram series whose observations feed the detectors (a watch). */
  readonly watch?: number;
  /** The id of the model's `ml_prediction_confidence` series, fed with each `proba`. */
  readonly confidenceSeries?: number;
}

interface DetectorSlot {
  readonly spec: MonitorDetector;
  detector: AnyDetector;
  state: DriftState;
  updates: number;
  drifts: number;
  warnings: number;
  lastDriftAt: number | null;
}

/**
 * The state of a monitor but its confusion matrix (see `matrix.toBytes()`),
 * for {@linkcode ModelMonitor.restore}.
 */
export interface MonitorJSON {
  readonly predictions: number;
  readonly skipped?: number;
  readonly classes: readonly string[];
  readonly detectors: readonly {
    readonly detector: unknown;
    readonly state: DriftState;
    readonly updates: number;
    readonly drifts: number;
    readonly warnings: number;
    readonly lastDriftAt: number | null;
  }[];
}

/**
 * The largest magnitude a detector is fed: its squares and sums over 2^53
 * values stay finite. Larger values (only a residual or a watched series
 * can be) are skipped and counted in the monitor's `skipped`.
 */
export const MAX_DETECTOR_INPUT = 1e100;

const ERROR = 0;
const CONFIDENCE = 1;

const STATE_VALUE: Readonly<Record<DriftState, number>> = {
  stable: 0,
  warning: 1,
  drift: 2,
};

/**
 * One model (or one watched series) on a worker: its detectors and, for a
 * classifier, its confusion matrix.
 */
export class ModelMonitor {
  readonly definition: MonitorDefinition;
  /** The classes declared or learned so far, by index. */
  readonly classes: string[];
  /** Predictions applied, across resets. */
  predictions = 0;
  /**
   * Values not fed to the detectors because their magnitude passed
   * {@linkcode MAX_DETECTOR_INPUT}.
   */
  skipped = 0;
  #matrix: ConfusionMatrix | undefined;
  readonly #slots: DetectorSlot[];
  /** Each detector's input as a small integer, for the apply loop. */
  readonly #inputs: Uint8Array;

  constructor(definition: MonitorDefinition) {
    this.definition = definition;
    this.classes = [...definition.classes];
    this.#matrix = definition.regression || definition.watch !== undefined
      ? undefined
      : new ConfusionMatrix(this.#matrixOptions());
    this.#inputs = Uint8Array.from(
      definition.detectors,
      ({ input }) =>
        input === "error" ? ERROR : input === "confidence" ? CONFIDENCE : 2,
    );
    this.#slots = definition.detectors.map((spec) => ({
      spec,
      detector: createDetector(spec),
      state: "stable",
      updates: 0,
      drifts: 0,
      warnings: 0,
      lastDriftAt: null,
    }));
  }

  #matrixOptions() {
    const { window, maxClasses, declared, positiveClass } = this.definition;
    return {
      window,
      maxClasses,
      declared: declared ? this.classes.length : 0,
      positive: this.classes.indexOf(positiveClass),
    };
  }

  /** The confusion matrix of a classifier. */
  get matrix(): ConfusionMatrix | undefined {
    return this.#matrix;
  }

  /** Adds a learned class; its index is the next one. */
  addClass(name: string): void {
    if (this.classes.includes(name)) return;
    this.classes.push(name);
    const matrix = this.#matrix;
    if (matrix !== undefined && name === this.definition.positiveClass) {
      matrix.positive = this.classes.length - 1;
    }
  }

  /**
   * Applies one prediction: class indexes for a classifier, numbers for a
   * regression model; `proba` NaN when the prediction had none.
   *
   * @param events Where warnings and drifts are appended.
   */
  record(
    prediction: number,
    actual: number,
    proba: number,
    now: number,
    events: DriftEvent[],
  ): void {
    this.predictions++;
    const matrix = this.#matrix;
    if (matrix !== undefined) matrix.add(prediction, actual);
    const slots = this.#slots;
    const inputs = this.#inputs;
    for (let i = 0; i < slots.length; i++) {
      const input = inputs[i];
      if (input === ERROR) {
        this.#feed(slots[i]!, i, prediction === actual ? 0 : 1, now, events);
      } else if (input === CONFIDENCE) {
        // A prediction without proba says nothing about confidence.
        if (proba === proba) this.#feed(slots[i]!, i, proba, now, events);
      } else {
        this.#feed(slots[i]!, i, Math.abs(prediction - actual), now, events);
      }
    }
  }

  /** Feeds a watched series' observation to every detector. */
  observe(value: number, now: number, events: DriftEvent[]): void {
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i++) {
      this.#feed(slots[i]!, i, value, now, events);
    }
  }

  #feed(
    slot: DetectorSlot,
    index: number,
    x: number,
    now: number,
    events: DriftEvent[],
  ): void {
    // Not a finite number of sane size: a detector would throw, or its sums
    // overflow and its state no longer serialise. Skipped and counted.
    if (!(x <= MAX_DETECTOR_INPUT && x >= -MAX_DETECTOR_INPUT)) {
      this.skipped++;
      return;
    }
    const state = slot.detector.update(x);
    slot.updates++;
    if (state === "drift") {
      slot.drifts++;
      slot.lastDriftAt = now;
      events.push(this.#event(slot, index, "drift", now));
    } else if (state === "warning" && slot.state !== "warning") {
      slot.warnings++;
      events.push(this.#event(slot, index, "warning", now));
    }
    slot.state = state;
  }

  #event(
    slot: DetectorSlot,
    index: number,
    severity: DriftEvent["severity"],
    at: number,
  ): DriftEvent {
    return {
      model: this.definition.name,
      detector: slot.spec.kind,
      detectorIndex: index,
      input: this.#input(slot),
      severity,
      updates: slot.updates,
      score: slot.detector.score,
      at,
    };
  }

  /** What a detector is fed, as its status and events say. */
  #input(slot: DetectorSlot): DetectorStatus["input"] {
    return this.definition.watch === undefined ? slot.spec.input : "value";
  }

  /**
   * Restarts the detectors and the recent window; counts, event counts and
   * lifetime figures go on.
   */
  reset(): void {
    for (const slot of this.#slots) {
      slot.detector.reset();
      slot.state = "stable";
    }
    this.#matrix?.resetRecent();
  }

  /** Each detector's `detector_type`, state (0, 1, 2), score and event counts, in order. */
  *detectorFigures(): Generator<{
    readonly type: string;
    readonly state: number;
    readonly score: number;
    readonly warnings: number;
    readonly drifts: number;
  }> {
    for (const slot of this.#slots) {
      yield {
        type: slot.spec.type,
        state: STATE_VALUE[slot.state],
        score: slot.detector.score,
        warnings: slot.warnings,
        drifts: slot.drifts,
      };
    }
  }

  /** What `GET /drift/status` reports of the monitor. */
  status(): ModelStatus {
    const matrix = this.#matrix;
    const detectors = this.#slots.map((slot): DetectorStatus => ({
      kind: slot.spec.kind,
      input: this.#input(slot),
      state: slot.state,
      n: slot.detector.n,
      updates: slot.updates,
      drifts: slot.drifts,
      warnings: slot.warnings,
      lastDriftAt: slot.lastDriftAt,
      score: slot.detector.score,
      stats: detectorStats(slot.spec.kind, slot.detector),
    }));
    const base = {
      name: this.definition.name,
      regression: this.definition.regression,
      classes: [...this.classes],
      binary: matrix?.binary ?? false,
      predictions: this.predictions,
      skipped: this.skipped,
      detectors,
    };
    return matrix === undefined ? base : {
      ...base,
      quality: {
        recent: matrix.figures("recent"),
        lifetime: matrix.figures("lifetime"),
      },
    };
  }

  /**
   * The running state but the confusion matrix's, for
   * {@linkcode ModelMonitor.restore}: with `matrix.toBytes()`, all of it.
   */
  toJSON(): MonitorJSON {
    return {
      predictions: this.predictions,
      skipped: this.skipped,
      classes: this.classes,
      detectors: this.#slots.map((slot) => ({
        detector: slot.detector.toJSON(),
        state: slot.state,
        updates: slot.updates,
        drifts: slot.drifts,
        warnings: slot.warnings,
        lastDriftAt: slot.lastDriftAt,
      })),
    };
  }

  /**
   * Takes the state of a monitor with the same definition, as its
   * `toJSON()` (possibly through JSON text) and its matrix's `toBytes()`
   * gave it.
   *
   * @throws {TypeError} When the state does not fit the definition.
   */
  restore(json: MonitorJSON, matrix: Uint8Array | undefined): void {
    const { definition } = this;
    if (
      !Array.isArray(json.detectors) ||
      json.detectors.length !== this.#slots.length
    ) {
      throw new TypeError(
        `Cannot restore model monitor "${definition.name}": its state has ${json.detectors?.length} detectors, its definition ${this.#slots.length}`,
      );
    }
    // Classes only grow, and the definition a restarted worker gets holds
    // every class learned, those after the snapshot too: keep the longer.
    if (json.classes.length > this.classes.length) {
      this.classes.length = 0;
      this.classes.push(...json.classes);
    }
    this.predictions = json.predictions;
    this.skipped = json.skipped ?? 0;
    json.detectors.forEach((saved, i) => {
      const slot = this.#slots[i]!;
      slot.detector = restoreDetector(slot.spec.kind, saved.detector);
      slot.state = saved.state;
      slot.updates = saved.updates;
      slot.drifts = saved.drifts;
      slot.warnings = saved.warnings;
      slot.lastDriftAt = saved.lastDriftAt;
    });
    if (this.#matrix !== undefined) {
      if (matrix === undefined) {
        throw new TypeError(
          `Cannot restore model monitor "${definition.name}": its state has no confusion matrix`,
        );
      }
      this.#matrix = ConfusionMatrix.fromBytes(matrix, this.#matrixOptions());
    }
  }
}
