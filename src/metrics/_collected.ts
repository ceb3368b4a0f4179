// Renders and checks the families of collectors. Internal.
import type { ExpositionFormat } from "../base/exposition.ts";
import {
  braces,
  formatBound,
  formatValue,
  renderHeader,
  renderPairs,
} from "../base/_text.ts";
import { LABEL_NAME, metricNameProblem } from "../base/_validation.ts";
import type { CollectedFamily } from "./collector.ts";

/** A counter's name without `_total`: its OpenMetrics family name. */
export function counterStem(name: string): string {
  return name.endsWith("_total") && name.length > 6 ? name.slice(0, -6) : name;
}

const TYPES: ReadonlySet<string> = new Set([
  "counter",
  "gauge",
  "histogram",
  "summary",
  "untyped",
]);

/** The sample names a family of this type may write, as 0.0.4 gives them. */
function sampleNameProblem(family: CollectedFamily, name: string): boolean {
  const base = family.name;
  switch (family.type) {
    case "counter": {
      const stem = counterStem(base);
      return name !== base && name !== `${stem}_total` &&
        name !== `${stem}_created` && name !== stem;
    }
    case "histogram":
      return name !== `${base}_bucket` && name !== `${base}_sum` &&
        name !== `${base}_count` && name !== `${base}_created`;
    case "summary":
      return name !== base && name !== `${base}_sum` &&
        name !== `${base}_count` && name !== `${base}_created`;
    default:
      return name !== base;
  }
}

/**
 * What is wrong with a collected family, or undefined. Label names are
 * checked against the rule, remembered in `goodLabels` (a scrape's cache).
 */
export function collectedProblem(
  family: CollectedFamily,
  goodLabels: Set<string>,
): string | undefined {
  if (family === null || typeof family !== "object") {
    return "a collected family must be an object";
  }
  const nameProblem = metricNameProblem(family.name);
  if (nameProblem !== undefined) {
    return `invalid family name ${JSON.stringify(family.name)}: ${nameProblem}`;
  }
  if (!TYPES.has(family.type)) {
    return `family "${family.name}" has an unknown type ${
      JSON.stringify(family.type)
    }`;
  }
  if (family.help !== undefined && typeof family.help !== "string") {
    return `family "${family.name}" has a help that is not a string`;
  }
  if (!Array.isArray(family.samples)) {
    return `family "${family.name}" has no samples array`;
  }
  for (const sample of family.samples) {
    if (sampleNameProblem(family, sample?.name)) {
      return `family "${family.name}" of type ${family.type} cannot have a sample named ${
        JSON.stringify(sample?.name)
      }`;
    }
    if (typeof sample.value !== "number") {
      return `sample "${sample.name}" has a value that is not a number`;
    }
    const { labelNames, labelValues } = sample;
    if (
      !Array.isArray(labelNames) || !Array.isArray(labelValues) ||
      labelNames.length !== labelValues.length
    ) {
      return `sample "${sample.name}" needs labelNames and labelValues of the same length`;
    }
    for (let i = 0; i < labelNames.length; i++) {
      const label = labelNames[i]!;
      if (!goodLabels.has(label)) {
        if (
          typeof label !== "string" || !LABEL_NAME.test(label) ||
          label.startsWith("__")
        ) {
          return `sample "${sample.name}" has an invalid label name ${
            JSON.stringify(label)
          }`;
        }
        goodLabels.add(label);
      }
      if (typeof labelValues[i] !== "string") {
        return `sample "${sample.name}" has a label value that is not a string`;
      }
    }
  }
  return undefined;
}

/** `+Inf`, `-Inf`, `NaN` or a decimal, as a number; undefined otherwise. */
function parseBound(text: string): number | undefined {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const value = text.trim() === "" ? NaN : Number(text);
  return Number.isNaN(value) ? undefined : value;
}

/**
 * A checked family's block in `format`: the registry's default labels
 * first where the sample lacks them; `le` and `quantile` in the canonical
 * form of `formatBound` (as the registry's own histograms write them);
 * counters as OpenMetrics wants them (family `<stem>`, samples
 * `<stem>_total`), untyped as `unknown`.
 */
export function renderCollected(
  family: CollectedFamily,
  format: ExpositionFormat,
  defaultNames: readonly string[],
  defaultValues: readonly string[],
): string {
  if (family.samples.length === 0) return "";
  const om = format === "openmetrics";
  const type = family.type;
  let name = family.name;
  let typeWord: string = type;
  let stem = name;
  if (om && type === "counter") {
    stem = counterStem(name);
    name = stem;
  }
  if (om && type === "untyped") typeWord = "unknown";
  let out = family.help === undefined
    ? `# TYPE ${name} ${typeWord}\n`
    : renderHeader(name, typeWord, family.help, format);
  const bound = type === "histogram"
    ? "le"
    : type === "summary"
    ? "quantile"
    : undefined;
  for (const sample of family.samples) {
    let sampleName = sample.name;
    if (
      om && type === "counter" &&
      (sampleName === stem || sampleName === family.name)
    ) {
      sampleName = `${stem}_total`;
    }
    let names = sample.labelNames;
    let values = sample.labelValues;
    if (defaultNames.length > 0) {
      const extraNames: string[] = [];
      const extraValues: string[] = [];
      for (let i = 0; i < defaultNames.length; i++) {
        if (!names.includes(defaultNames[i]!)) {
          extraNames.push(defaultNames[i]!);
          extraValues.push(defaultValues[i]!);
        }
      }
      if (extraNames.length > 0) {
        names = [...extraNames, ...names];
        values = [...extraValues, ...values];
      }
    }
    if (bound !== undefined) {
      const at = names.indexOf(bound);
      if (at >= 0) {
        const parsed = parseBound(values[at]!);
        if (parsed !== undefined) {
          values = values.slice();
          (values as string[])[at] = formatBound(parsed);
        }
      }
    }
    out += `${sampleName}${braces(renderPairs(names, values))} ${
      formatValue(sample.value, format)
    }\n`;
  }
  return out;
}
