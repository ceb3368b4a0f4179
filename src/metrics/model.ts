// Model monitors: the main thread's handle of a model whose confusion matrix
// and drift detectors live in an aggregation worker.
import {
  type ClassLabel,
  type DetectorSpec,
  type DriftEvent,
  ModelInputError,
  type ModelOptions,
  type ModelStatus,
  type ModelUpdate,
} from "../drift/model_types.ts";
import { checkDetectorSpec } from "../drift/detectors.ts";
import type { MonitorDetector } from "../drift/monitor.ts";
import type { AggregationPool } from "../aggregation/pool.ts";
import type { Shard } from "../aggregation/shard.ts";
import { MODEL_RECORD } from "../aggregation/protocol.ts";
import type { Logger } from "../base/log.ts";
import type { DistributionChild } from "./distribution.ts";
import { timed } from "./timed.ts";

/** What `model.trackTraining()` records of one training run. */
export interface TrainingRun {
  /** How long it took, in seconds. */
  readonly durationSeconds: number;
  /** Samples it trained on. */
  readonly samples?: number;
  /** `ml_training_runs_total`'s `status` label. @default {"success"} */
  readonly status?: "success" | "failure";
}

/** Options of `DistributionChild.watch()`: a detector of numbers and a name. */
export interface WatchOptions {
  /** The detector: only detectors of numbers can watch. */
  readonly kind: "page_hinkley" | "adwin";
  /**
   * The watch's name: the `model_name` label of its drift metrics, unique
   * among models and watches.
   * @default {the metric's name, with the series' labels in braces if it has any}
   */
  readonly name?: string;
  /** The detector's options, such as `delta` or `threshold`. */
  readonly [option: string]: unknown;
}

/** The handle `DistributionChild.watch()` returns. */
export type Watch = Pick<Model, "name" | "status" | "reset" | "onDrift">;

/** The handle `registry.model()` returns. */
export interface Model {
  /** The model's name: the `model_name` label of its metrics. */
  readonly name: string;
  /** Whether `prediction` and `actual` are numbers of a regression model. */
  readonly regression: boolean;
  /** The declared classes as strings, or undefined when they are learned. */
  readonly classes: readonly string[] | undefined;
  /**
   * Records a prediction and its outcome: a few nanoseconds, written into
   * the batch of the model's worker like a histogram observation.
   */
  record(prediction: ClassLabel, actual: ClassLabel, proba?: number): void;
  /**
   * Records a batch whole or not at all: every update is checked first
   * (throwing {@linkcode ModelInputError} naming the first bad field), then
   * there must be room for all of them in the worker's batches (a
   * `RangeError` otherwise), then all are recorded in order.
   */
  recordAll(updates: readonly ModelUpdate[]): void;
  /** The model's figures, including every prediction recorded before the call. */
  status(): Promise<ModelStatus>;
  /**
   * Restarts the detectors and the recent window, after every prediction
   * recorded before the call; counters, event counts and lifetime figures go
   * on counting.
   */
  reset(): Promise<void>;
  /** Calls `callback` on each warning and drift; returns the unsubscribe function. */
  onDrift(callback: (event: DriftEvent) => void): () => void;
  /** Records a training run in the `ml_training_*` metrics. */
  trackTraining(run: TrainingRun): void;
  /**
   * Runs `fn`, the prediction, and records how long it took in
   * `ml_prediction_duration_seconds{model_name}`, whether it returns or
   * throws; a promise is timed until it settles. Its result or error is
   * passed through.
   */
  timed<T>(fn: () => T): T;
}

// ---------------------------------------------------------------------------
// The implementation behind `registry.model()`.

/** A model's options, checked and completed. */
export interface CheckedModel {
  readonly name: string;
  readonly classes: readonly string[] | undefined;
  readonly window: number;
  readonly positiveClass: string;
  readonly maxClasses: number;
  readonly regression: boolean;
  readonly detectors: readonly MonitorDetector[];
}

/** The most classes a model may declare or learn. */
export const MAX_CLASSES = 1024;
/** Labels from 0 to this (excluded) find their class without a map lookup. */
const SMALL_LABELS = 256;

function isLabel(value: unknown): value is ClassLabel {
  return typeof value === "string" ||
    (typeof value === "number" && Number.isFinite(value));
}

function describe(value: unknown): string {
  return typeof value === "string"
    ? JSON.stringify(value)
    : value === null || typeof value !== "object"
    ? String(value)
    : Array.isArray(value)
    ? "an array"
    : "an object";
}

/**
 * Checks `registry.model()`'s options: a name, classes, a window, the
 * positive class, the class limit and the detectors with their options.
 *
 * @throws {TypeError} When a field has the wrong type or an unknown name.
 * @throws {RangeError} When a value is out of range.
 */
export function checkModelOptions(options: ModelOptions): CheckedModel {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot create a model: options must be an object, got ${
        describe(options)
      }`,
    );
  }
  const { name } = options;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `Cannot create a model: name must be a non-empty string, got ${
        describe(name)
      }`,
    );
  }
  const fail = (field: string, reason: string): never => {
    throw new RangeError(`Cannot create model "${name}": ${field} ${reason}`);
  };
  const integer = (field: string, value: unknown, min: number, max: number) =>
    typeof value === "number" && Number.isInteger(value) && value >= min &&
      value <= max
      ? value
      : fail(
        field,
        `must be an integer from ${min} to ${max}, got ${describe(value)}`,
      );
  const window = integer("window", options.window ?? 1000, 1, 1_000_000);
  const maxClasses = integer(
    "maxClasses",
    options.maxClasses ?? 64,
    2,
    MAX_CLASSES,
  );
  const positive = options.positiveClass ?? 1;
  if (!isLabel(positive)) {
    fail(
      "positiveClass",
      `must be a string or a finite number, got ${describe(positive)}`,
    );
  }
  const specs = options.detectors ?? [];
  if (!Array.isArray(specs)) {
    fail("detectors", `must be an array, got ${describe(specs)}`);
  }
  const regression = options.regression ??
    specs.some((spec: DetectorSpec) => spec?.input === "residual");
  if (typeof regression !== "boolean") {
    fail("regression", `must be a boolean, got ${describe(regression)}`);
  }
  let classes: string[] | undefined;
  if (options.classes !== undefined) {
    if (regression) {
      fail("classes", "cannot be declared for a regression model");
    }
    if (!Array.isArray(options.classes)) {
      fail("classes", `must be an array, got ${describe(options.classes)}`);
    }
    classes = [];
    options.classes.forEach((label, i) => {
      if (!isLabel(label)) {
        fail(
          `classes[${i}]`,
          `must be a string or a finite number, got ${describe(label)}`,
        );
      }
      const key = String(label);
      if (classes!.includes(key)) {
        fail(`classes[${i}]`, `repeats the class "${key}"`);
      }
      classes!.push(key);
    });
    if (classes.length < 2 || classes.length > MAX_CLASSES) {
      fail(
        "classes",
        `must hold from 2 to ${MAX_CLASSES} classes, got ${classes.length}`,
      );
    }
  }
  if (classes?.length === 2 && !classes.includes(String(positive))) {
    fail(
      "positiveClass",
      `must be one of the two classes of a binary model (${
        classes.map((c) => JSON.stringify(c)).join(", ")
      }), got ${describe(positive)}`,
    );
  }
  const checked = specs.map((spec: unknown, i: number) =>
    checkDetectorSpec(spec, `model "${name}" detectors[${i}]`, regression)
  );
  const detectors = checked.map((spec, i): MonitorDetector => {
    const alike = checked.filter((other) => other.kind === spec.kind);
    if (alike.filter((other) => other.input === spec.input).length > 1) {
      fail(
        `detectors[${i}]`,
        `repeats ${spec.kind} on the "${spec.input}" input`,
      );
    }
    return {
      ...spec,
      type: alike.length > 1 ? `${spec.kind}_${spec.input}` : spec.kind,
    };
  });
  return {
    name,
    classes,
    window,
    positiveClass: String(positive),
    maxClasses: classes?.length ?? maxClasses,
    regression,
    detectors,
  };
}

/** What a model handle reports into: the registry's metrics and logger. */
export interface ModelContext {
  readonly pool: AggregationPool;
  readonly shard: Shard;
  /** Counts a prediction not applied, by reason. */
  readonly refuse: (reason: RefusalReason) => void;
  /** Records a training run. */
  readonly train: (run: TrainingRun) => void;
  /** The model's series of `ml_prediction_duration_seconds`. */
  readonly latency: () => DistributionChild;
  /** Called when an `onDrift` subscriber throws. */
  readonly subscriberFailed: (error: unknown) => void;
  readonly logger: Logger;
}

/** Why `record()` did not apply a prediction. */
export type RefusalReason =
  | "undeclared_class"
  | "class_overflow"
  | "proba"
  | "value";

/** The main thread's side of a model monitor. Internal: see {@linkcode Model}. */
export class ModelHandle implements Model {
  readonly name: string;
  readonly regression: boolean;
  readonly classes: readonly string[] | undefined;
  readonly #id: number;
  readonly #shard: Shard;
  readonly #context: ModelContext;
  readonly #maxClasses: number;
  /** Class index + 1 by small integer label; 0 while unknown. */
  readonly #small = new Int32Array(SMALL_LABELS);
  readonly #index = new Map<string, number>();
  readonly #learned: string[] = [];
  readonly #subscribers = new Set<(event: DriftEvent) => void>();
  /** Per detector, the `updates` of the last event delivered. */
  readonly #delivered: number[];

  constructor(model: CheckedModel, id: number, context: ModelContext) {
    this.name = model.name;
    this.regression = model.regression;
    this.classes = model.classes;
    this.#id = id;
    this.#shard = context.shard;
    this.#context = context;
    this.#maxClasses = model.maxClasses;
    this.#delivered = model.detectors.map(() => 0);
    for (const label of model.classes ?? []) this.#learn(label);
  }

  record(prediction: ClassLabel, actual: ClassLabel, proba?: number): void {
    let q = NaN;
    if (proba !== undefined) {
      if (!(proba >= 0 && proba <= 1)) return this.#context.refuse("proba");
      q = proba;
    }
    if (this.regression) {
      const p = this.#number(prediction, "prediction");
      const a = this.#number(actual, "actual");
      if (p - p !== 0 || a - a !== 0) return this.#context.refuse("value");
      this.#write(p, a, q);
      return;
    }
    // Small integer labels known already: two typed-array reads.
    const small = this.#small;
    const ps = typeof prediction === "number" ? small[prediction] : undefined;
    const as = typeof actual === "number" ? small[actual] : undefined;
    if (ps !== undefined && ps > 0 && as !== undefined && as > 0) {
      this.#write(ps - 1, as - 1, q);
      return;
    }
    // A class is learned only if its prediction goes into a batch.
    if (this.#shard.roomFor(MODEL_RECORD) < 1) {
      this.#shard.drop();
      return;
    }
    const classes = this.#classesOf(prediction, actual);
    if (classes !== undefined) this.#write(classes[0], classes[1], q);
  }

  /** Writes a record into the batch; false when it was dropped (and counted). */
  #write(prediction: number, actual: number, proba: number): boolean {
    const shard = this.#shard;
    let pos = shard.pos;
    if (pos + MODEL_RECORD > shard.end) {
      pos = shard.rotate();
      if (pos < 0) return false;
      // A batch too short for a record: `batchSize` 1, which model() refuses.
      if (pos + MODEL_RECORD > shard.end) {
        shard.drop();
        return false;
      }
    }
    const buf = shard.buf;
    buf[pos] = this.#id;
    buf[pos + 1] = prediction;
    buf[pos + 2] = actual;
    buf[pos + 3] = proba;
    shard.pos = pos + MODEL_RECORD;
    return true;
  }

  recordAll(updates: readonly ModelUpdate[]): void {
    const fail = (field: string, reason: string): never => {
      throw new ModelInputError(this.name, field, reason);
    };
    if (!Array.isArray(updates)) {
      fail("updates", `must be an array, got ${describe(updates)}`);
    }
    const fresh = new Set<string>();
    updates.forEach((update: unknown, i: number) => {
      const at = `updates[${i}]`;
      if (update === null || typeof update !== "object") {
        fail(at, `must be an object, got ${describe(update)}`);
      }
      const { prediction, actual, proba } = update as Record<string, unknown>;
      for (
        const [field, value] of [["prediction", prediction], [
          "actual",
          actual,
        ]] as const
      ) {
        if (value === undefined) fail(`${at}.${field}`, "is missing");
        if (this.regression) {
          if (typeof value !== "number" || !Number.isFinite(value)) {
            fail(
              `${at}.${field}`,
              `must be a finite number (a regression model's value), got ${
                describe(value)
              }`,
            );
          }
          continue;
        }
        if (!isLabel(value)) {
          fail(
            `${at}.${field}`,
            `must be a class label (a string or a finite number), got ${
              describe(value)
            }`,
          );
        }
        const key = String(value);
        if (this.#index.has(key)) continue;
        if (this.classes !== undefined) {
          fail(
            `${at}.${field}`,
            `is not a declared class: ${JSON.stringify(key)} is not one of ${
              this.classes.map((c) => JSON.stringify(c)).join(", ")
            }`,
          );
        }
        fresh.add(key);
        if (this.#learned.length + fresh.size > this.#maxClasses) {
          fail(
            `${at}.${field}`,
            `would be class ${
              this.#learned.length + fresh.size
            } of a model that learns at most ${this.#maxClasses} (maxClasses)`,
          );
        }
      }
      if (
        proba !== undefined &&
        !(typeof proba === "number" && proba >= 0 && proba <= 1)
      ) {
        fail(
          `${at}.proba`,
          `must be a number from 0 to 1, got ${describe(proba)}`,
        );
      }
    });
    const room = this.#shard.roomFor(MODEL_RECORD);
    if (room < updates.length) {
      throw new RangeError(
        `Cannot record ${updates.length} predictions of model "${this.name}": its worker's batches have room for ${room} now; retry shortly`,
      );
    }
    for (const { prediction, actual, proba } of updates) {
      this.record(prediction, actual, proba);
    }
  }

  status(): Promise<ModelStatus> {
    return this.#context.pool.modelStatus(this.#shard, this.#id);
  }

  async reset(): Promise<void> {
    // In the batches, so a restarted worker replays it in its place.
    if (!this.#write(NaN, 0, NaN)) {
      throw new RangeError(
        `Cannot reset model "${this.name}": its worker's batches are full; retry shortly`,
      );
    }
    await this.status();
  }

  onDrift(callback: (event: DriftEvent) => void): () => void {
    if (typeof callback !== "function") {
      throw new TypeError(
        `Cannot subscribe to model "${this.name}": the callback must be a function, got ${
          describe(callback)
        }`,
      );
    }
    // Wrapped, so one function subscribed twice is called twice.
    const subscriber = (event: DriftEvent) => callback(event);
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  trackTraining(run: TrainingRun): void {
    this.#context.train(run);
  }

  timed<T>(fn: () => T): T {
    return timed(this.#context.latency(), fn);
  }

  /**
   * Whether this handle's monitor is `id` on `shard`.
   *
   * @ignore
   */
  isMonitor(shard: Shard, id: number): boolean {
    return this.#shard === shard && this.#id === id;
  }

  /**
   * Takes a warning or drift from the worker: logs it and calls the
   * subscribers, once, however often a restarted worker replays it.
   *
   * @ignore
   */
  deliver(event: DriftEvent): void {
    const last = this.#delivered[event.detectorIndex];
    if (last === undefined || event.updates <= last) return;
    this.#delivered[event.detectorIndex] = event.updates;
    const fields = {
      event: event.severity === "drift" ? "drift.detected" : "drift.warning",
      model: event.model,
      detector: event.detector,
      input: event.input,
      severity: event.severity,
      updates: event.updates,
      score: event.score,
    };
    if (event.severity === "drift") {
      this.#context.logger.warn("Concept drift detected", fields);
    } else this.#context.logger.info("Drift warning", fields);
    for (const subscriber of this.#subscribers) {
      try {
        subscriber(event);
      } catch (error) {
        this.#context.subscriberFailed(error);
      }
    }
  }

  #number(value: ClassLabel, field: string): number {
    if (typeof value === "number") return value;
    throw new TypeError(
      `Cannot record a prediction of model "${this.name}": ${field} must be a number (a regression model's value), got ${
        describe(value)
      }`,
    );
  }

  /**
   * The classes of a prediction's labels, learning new ones only if the
   * prediction is applied; undefined, counted once, when it is refused.
   */
  #classesOf(
    prediction: ClassLabel,
    actual: ClassLabel,
  ): [number, number] | undefined {
    for (const label of [prediction, actual]) {
      if (typeof label === "string") continue;
      if (typeof label !== "number") {
        throw new TypeError(
          `Cannot record a prediction of model "${this.name}": a class label must be a string or a number, got ${
            describe(label)
          }`,
        );
      }
      if (!Number.isFinite(label)) {
        this.#context.refuse("value");
        return undefined;
      }
    }
    const p = String(prediction);
    const a = String(actual);
    const unknown = [p, a].filter((key, i, keys) =>
      !this.#index.has(key) && keys.indexOf(key) === i
    );
    if (unknown.length > 0) {
      if (this.classes !== undefined) {
        this.#context.refuse("undeclared_class");
        return undefined;
      }
      if (this.#learned.length + unknown.length > this.#maxClasses) {
        this.#context.refuse("class_overflow");
        return undefined;
      }
      for (const key of unknown) {
        this.#learn(key);
        this.#shard.addModelClass(this.#id, key);
      }
    }
    return [this.#index.get(p)!, this.#index.get(a)!];
  }

  #learn(label: ClassLabel): number {
    const key = String(label);
    const index = this.#learned.push(key) - 1;
    this.#index.set(key, index);
    const number = Number(key);
    if (
      Number.isInteger(number) && number >= 0 && number < SMALL_LABELS &&
      String(number) === key
    ) {
      this.#small[number] = index + 1;
    }
    return index;
  }
}
