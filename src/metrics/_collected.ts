// Renders and checks the families of collectors. Internal.
import type { ExpositionFormat } from "../base/exposition.ts";
import {
  braces,
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
 * What is wrong with a collected family, or undefined: anything that would
 * make the scrape unparsable (`promtool check metrics` is the judge). Label
 * names are checked against the rule, remembered in `goodLabels` (a
 * scrape's cache); label sets are compared as rendered, with the default
 * labels the sample lacks.
 */
export function collectedProblem(
  family: CollectedFamily,
  goodLabels: Set<string>,
  defaultNames: readonly string[] = [],
  defaultValues: readonly string[] = [],
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
  const seen = new Set<string>();
  const bound = family.type === "histogram"
    ? "le"
    : family.type === "summary"
    ? "quantile"
    : undefined;
  const stem = counterStem(family.name);
  let plain = false;
  let total = false;
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
      for (let j = 0; j < i; j++) {
        if (labelNames[j] === label) {
          return `sample "${sample.name}" has label "${label}" twice`;
        }
      }
    }
    if (bound !== undefined) {
      const at = labelNames.indexOf(bound);
      const needs = family.type === "histogram"
        ? sample.name === `${family.name}_bucket`
        : sample.name === family.name;
      if (needs && at < 0) {
        return `sample "${sample.name}" of ${family.type} "${family.name}" has no "${bound}" label`;
      }
      if (!needs && at >= 0) {
        return `sample "${sample.name}" of ${family.type} "${family.name}" must not have a "${bound}" label`;
      }
      if (needs && parseBound(labelValues[at]!) === undefined) {
        return `sample "${sample.name}" has a "${bound}" label that is not a number: ${
          JSON.stringify(labelValues[at])
        }`;
      }
    }
    if (family.type === "counter") {
      if (sample.name === stem) plain = true;
      else if (sample.name === `${stem}_total`) total = true;
      if (plain && total) {
        return `counter "${family.name}" has samples named both "${stem}" and "${stem}_total"`;
      }
    }
    const key = renderedKey(sample, defaultNames, defaultValues);
    if (seen.has(key)) {
      return `family "${family.name}" has two samples ${key}`;
    }
    seen.add(key);
  }
  return undefined;
}

/**
 * `name{a="1",...}` as rendered, labels sorted and empty values left out:
 * equal for what Prometheus stores as one series.
 */
function renderedKey(
  sample: CollectedFamily["samples"][number],
  defaultNames: readonly string[],
  defaultValues: readonly string[],
): string {
  const pairs: [string, string][] = [];
  for (let i = 0; i < defaultNames.length; i++) {
    if (
      !sample.labelNames.includes(defaultNames[i]!) && defaultValues[i] !== ""
    ) {
      pairs.push([defaultNames[i]!, defaultValues[i]!]);
    }
  }
  for (let i = 0; i < sample.labelNames.length; i++) {
    // An empty value is no label: Prometheus stores `x{a=""}` as `x`.
    if (sample.labelValues[i] !== "") {
      pairs.push([sample.labelNames[i]!, sample.labelValues[i]!]);
    }
  }
  pairs.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  return `${sample.name}{${
    renderPairs(pairs.map((pair) => pair[0]), pairs.map((pair) => pair[1]))
  }}`;
}

/** A decimal or Go's `Inf`/`Infinity`/`NaN` words, as a number; else undefined. */
function parseBound(text: string): number | undefined {
  if (DECIMAL.test(text)) return Number(text);
  switch (text.toLowerCase()) {
    case "inf":
    case "+inf":
    case "infinity":
    case "+infinity":
      return Infinity;
    case "-inf":
    case "-infinity":
      return -Infinity;
    case "nan":
      return NaN;
  }
  return undefined;
}

/** A decimal as Go's `ParseFloat` and the Prometheus parsers take it. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A checked family's block in `format`: the registry's default labels
 * first where the sample lacks them; `le` and `quantile` values verbatim
 * (checked as numbers; a pushed `1` stays `1`, as Pushgateway serves it);
 * counters named `<stem>_total` as OpenMetrics wants them (family
 * `<stem>`, samples `<stem>_total`); a counter with a sample named as its
 * family without `_total` (Pushgateway takes those) is `unknown` in
 * OpenMetrics, its samples named as given; untyped as `unknown`.
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
  let renamed = false;
  if (om && type === "counter") {
    stem = counterStem(name);
    if (
      stem !== name ||
      !family.samples.some((sample) => sample.name === stem)
    ) {
      name = stem;
      renamed = true;
    } else typeWord = "unknown";
  }
  if (om && type === "untyped") typeWord = "unknown";
  let out = family.help === undefined
    ? `# TYPE ${name} ${typeWord}\n`
    : renderHeader(name, typeWord, family.help, format);
  for (const sample of family.samples) {
    let sampleName = sample.name;
    if (renamed && (sampleName === stem || sampleName === family.name)) {
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
    out += `${sampleName}${braces(renderPairs(names, values))} ${
      formatValue(sample.value, format)
    }\n`;
  }
  return out;
}
