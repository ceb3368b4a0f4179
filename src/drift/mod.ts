/**
 * Concept-drift detectors, as River defines them, index for index: each
 * `update()` returns `"stable"`, `"warning"` or `"drift"`, and each
 * detector's state serialises with `toJSON()` and restores with its class's
 * `fromJSON()`.
 *
 * @module
 */
export type {
  BinaryInput,
  DetectorJSON,
  DriftDetector,
  DriftState,
} from "./types.ts";
