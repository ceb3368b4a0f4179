// Detectors made from their declarations ({ kind, input, ...options }), for
// model monitors: checked once where they are declared (registry, config),
// built again in the worker that runs them.
import { ADWIN } from "./adwin.ts";
import { DDM } from "./ddm.ts";
import { EDDM } from "./eddm.ts";
import { HDDMA } from "./hddm_a.ts";
import { PageHinkley } from "./page_hinkley.ts";
import {
  DETECTOR_INPUTS,
  DETECTOR_KINDS,
  type DetectorInput,
  type DetectorKind,
  type DetectorSpec,
} from "./model_types.ts";
import type { DetectorJSON, DriftDetector } from "./types.ts";

/** Any of the five detectors, fed numbers (0 or 1 for the binary ones). */
export type AnyDetector = DriftDetector<number> & { readonly score: number };

interface KindInfo {
  readonly create: (options: Record<string, unknown>) => AnyDetector;
  readonly restore: (json: unknown) => AnyDetector;
  /** Whether it takes errors only (0 or 1). */
  readonly binary: boolean;
  /** Its running figures for the status. */
  readonly stats: (detector: never) => Record<string, number>;
}

const KINDS: Readonly<Record<DetectorKind, KindInfo>> = {
  ddm: {
    create: (o) => new DDM(o) as AnyDetector,
    restore: (json) => DDM.fromJSON(json) as AnyDetector,
    binary: true,
    stats: (d: DDM) => ({ p: d.p, s: d.s, pMin: d.pMin, sMin: d.sMin }),
  },
  eddm: {
    create: (o) => new EDDM(o) as AnyDetector,
    restore: (json) => EDDM.fromJSON(json) as AnyDetector,
    binary: true,
    stats: (d: EDDM) => ({
      errors: d.errors,
      meanDistance: d.meanDistance,
      stdDistance: d.stdDistance,
      maxMeanPlus2Std: d.maxMeanPlus2Std,
    }),
  },
  hddm_a: {
    create: (o) => new HDDMA(o) as AnyDetector,
    restore: (json) => HDDMA.fromJSON(json) as AnyDetector,
    binary: true,
    stats: (d: HDDMA) => ({
      mean: d.mean,
      minMean: d.minMean,
      minN: d.minN,
      maxMean: d.maxMean,
      maxN: d.maxN,
    }),
  },
  page_hinkley: {
    create: (o) => new PageHinkley(o) as AnyDetector,
    restore: (json) => PageHinkley.fromJSON(json) as AnyDetector,
    binary: false,
    stats: (d: PageHinkley) => ({
      mean: d.mean,
      sumIncrease: d.sumIncrease,
      minIncrease: d.minIncrease,
      sumDecrease: d.sumDecrease,
      maxDecrease: d.maxDecrease,
    }),
  },
  adwin: {
    create: (o) => new ADWIN(o) as AnyDetector,
    restore: (json) => ADWIN.fromJSON(json) as AnyDetector,
    binary: false,
    stats: (d: ADWIN) => ({
      width: d.width,
      estimation: d.estimation,
      variance: d.variance,
      total: d.total,
    }),
  },
};

/** Each kind's option names, read off a default detector's `toJSON()`. */
const OPTION_NAMES: ReadonlyMap<DetectorKind, readonly string[]> = new Map(
  DETECTOR_KINDS.map((
    kind,
  ) => [kind, Object.keys(KINDS[kind].create({}).toJSON().options)]),
);

/** A detector declaration checked and completed: its input filled in. */
export interface CheckedSpec {
  readonly kind: DetectorKind;
  readonly input: DetectorInput;
  /** The options given, without `kind` and `input`. */
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * Checks a detector declaration: a known kind, an input the kind takes and
 * that the model can give, and options the kind knows, in range (the
 * detector is built once to check them).
 *
 * @param spec The declaration.
 * @param where What it is, for errors, such as `model "ensemble" detectors[1]`.
 * @param regression Whether the model is a regression model (the only kind
 * with a residual).
 * @returns The checked declaration.
 * @throws {TypeError} When the kind, the input or an option name is unknown.
 * @throws {RangeError} When an option is out of range, or the input does not fit.
 */
export function checkDetectorSpec(
  spec: unknown,
  where: string,
  regression: boolean,
): CheckedSpec {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new TypeError(
      `Cannot declare ${where}: expected a mapping such as { kind: "ddm" }, got ${
        JSON.stringify(spec) ?? String(spec)
      }`,
    );
  }
  const { kind, input = "error", ...options } = spec as DetectorSpec;
  if (!(DETECTOR_KINDS as readonly unknown[]).includes(kind)) {
    throw new TypeError(
      `Cannot declare ${where}: kind must be one of ${
        DETECTOR_KINDS.join(", ")
      }, got ${JSON.stringify(kind) ?? String(kind)}`,
    );
  }
  if (!(DETECTOR_INPUTS as readonly unknown[]).includes(input)) {
    throw new TypeError(
      `Cannot declare ${where}: input must be one of ${
        DETECTOR_INPUTS.join(", ")
      }, got ${JSON.stringify(input) ?? String(input)}`,
    );
  }
  const info = KINDS[kind];
  if (info.binary && input !== "error") {
    throw new RangeError(
      `Cannot declare ${where}: ${kind} takes only the "error" input (0 or 1), got "${input}"`,
    );
  }
  if (input === "residual" && !regression) {
    throw new RangeError(
      `Cannot declare ${where}: the "residual" input needs a regression model (regression: true)`,
    );
  }
  const known = OPTION_NAMES.get(kind)!;
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) {
      throw new TypeError(
        `Cannot declare ${where}: ${kind} has no option "${name}"; its options are ${
          known.join(", ")
        }`,
      );
    }
  }
  try {
    info.create(options);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new RangeError(`Cannot declare ${where}: ${error.message}`);
    }
    throw error;
  }
  return { kind, input, options };
}

/** Builds the detector of a checked declaration. */
export function createDetector(spec: CheckedSpec): AnyDetector {
  return KINDS[spec.kind].create({ ...spec.options });
}

/** Restores a detector of a kind from its `toJSON()`. */
export function restoreDetector(
  kind: DetectorKind,
  json: DetectorJSON | unknown,
): AnyDetector {
  return KINDS[kind].restore(json);
}

/** A detector's running figures, such as DDM's `p`, `s`, `pMin` and `sMin`. */
export function detectorStats(
  kind: DetectorKind,
  detector: AnyDetector,
): Record<string, number> {
  return KINDS[kind].stats(detector as never);
}
