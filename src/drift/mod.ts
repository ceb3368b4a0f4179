/**
 * Concept-drift detectors, as River defines them, index for index: each
 * `update()` returns `"stable"`, `"warning"` or `"drift"`, and each
 * detector's state serialises with `toJSON()` and restores with its class's
 * `fromJSON()`.
 *
 * @module
 */
export { ADWIN, type ADWINOptions } from "./adwin.ts";
export { DDM, type DDMOptions } from "./ddm.ts";
export { EDDM, type EDDMOptions } from "./eddm.ts";
export { HDDMA, type HDDMAOptions } from "./hddm_a.ts";
export {
  PAGE_HINKLEY_MODES,
  PageHinkley,
  type PageHinkleyMode,
  type PageHinkleyOptions,
} from "./page_hinkley.ts";
export type {
  BinaryInput,
  DetectorJSON,
  DriftDetector,
  DriftState,
} from "./types.ts";
export {
  type ClassLabel,
  DETECTOR_INPUTS,
  DETECTOR_KINDS,
  type DetectorInput,
  type DetectorKind,
  type DetectorSpec,
  type DetectorStatus,
  type DriftEvent,
  ModelInputError,
  type ModelOptions,
  type ModelStatus,
  type ModelUpdate,
  type QualityFigures,
} from "./model_types.ts";
export {
  ConfusionMatrix,
  type ConfusionMatrixJSON,
  type ConfusionMatrixOptions,
  type QualityWindow,
} from "./quality.ts";
