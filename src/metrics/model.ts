// Model monitors: the main thread's handle of a model whose confusion matrix
// and drift detectors live in an aggregation worker.
import type {
  ClassLabel,
  DriftEvent,
  ModelStatus,
  ModelUpdate,
} from "../drift/model_types.ts";

/** What `model.trackTraining()` records of one training run. */
export interface TrainingRun {
  /** How long it took, in seconds. */
  readonly durationSeconds: number;
  /** Samples it trained on. */
  readonly samples?: number;
  /** `ml_training_runs_total`'s `status` label. @default {"success"} */
  readonly status?: "success" | "failure";
}

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
}
