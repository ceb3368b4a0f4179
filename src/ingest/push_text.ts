/**
 * A parser for the Prometheus text exposition format 0.0.4 as pushed to a
 * Pushgateway. Pure: a string in, families out, or one
 * {@linkcode PushTextError} naming the line and the reason, so a push is
 * applied whole or not at all.
 *
 * Follows prometheus/common's `expfmt` text parser (`text_parse.go`, which
 * Pushgateway uses) with these rules:
 * - `# HELP name text` (escapes `\\` and `\n`; other backslashes are kept),
 *   `# TYPE name counter|gauge|histogram|summary|untyped` (any case, as
 *   expfmt), other `#` lines are comments; at most one HELP and one TYPE per
 *   family, TYPE before the family's samples.
 * - `name{label="value",...} value`: blanks are spaces and tabs, label values
 *   escape `\\`, `\"` and `\n` (any other escape is an error), a trailing
 *   comma in the braces is allowed, names starting with `__` are refused
 *   (as Pushgateway refuses them). Values are
 *   decimals or `[+-]Inf`/`Infinity`/`NaN` in any case, as Go's
 *   `ParseFloat` (hex and `_` refused, as expfmt).
 * - Histogram `F` groups `F_bucket` (needing `le`), `F_sum`, `F_count`;
 *   summary `F` groups `F` (needing `quantile`), `F_sum`, `F_count`. 0.0.4
 *   has no `_created`: such a sample is a family of its own.
 * - A sample with a timestamp is refused: Pushgateway rejects pushes with
 *   timestamps (its README, "About timestamps"), since Prometheus would see
 *   the series go stale five minutes after the push.
 * - Refused where expfmt is lenient: a series given twice (Pushgateway
 *   refuses those later, in its consistency check), and the lines of a family
 *   interleaved with another family's (expfmt merges them; the format's spec
 *   says a family is one group of lines).
 * - Lenient where expfmt is strict: the last line may lack its `\n`.
 * - Families with HELP or TYPE but no sample are left out, as expfmt does.
 *
 * @module
 */
import { LABEL_NAME, metricNameProblem } from "../base/_validation.ts";
import { escapeLabelValue } from "../base/_text.ts";
import { parseDecimal } from "./_decimal.ts";
import {
  type CollectedFamily,
  type CollectedSample,
  CollectedType,
} from "../metrics/collector.ts";

/**
 * The metric types of the text format: the collector's, since pushed
 * families are rendered as collected ones (`untyped` also for a family
 * without TYPE).
 */
export const PushMetricType: typeof CollectedType = CollectedType;

/** One of the values of {@linkcode PushMetricType}. */
export type PushMetricType = CollectedType;

/** The limits of {@linkcode PushTextOptions}, named in limit errors. */
export const PushLimit = {
  /** The most sample lines in one body. */
  MaxSeries: "maxSeries",
  /** The longest line, in UTF-16 code units. */
  MaxLineLength: "maxLineLength",
  /** The most label pairs on one sample. */
  MaxLabelPairs: "maxLabelPairs",
  /** The longest label value, in UTF-16 code units. */
  MaxLabelValueLength: "maxLabelValueLength",
  /** The longest HELP text, in UTF-16 code units. */
  MaxHelpLength: "maxHelpLength",
} as const;

/** One of the values of {@linkcode PushLimit}. */
export type PushLimit = typeof PushLimit[keyof typeof PushLimit];

/** One sample line: a collected sample, `le` and `quantile` included. */
export type PushSample = CollectedSample;

/** A metric family, its samples in the order sent: a collected family. */
export type PushFamily = CollectedFamily;

/** Options of {@linkcode parsePushText}. */
export interface PushTextOptions {
  /**
   * The most sample lines in one body.
   * @default {10000}
   */
  readonly maxSeries?: number;
  /**
   * The longest line, in UTF-16 code units.
   * @default {65536}
   */
  readonly maxLineLength?: number;
  /**
   * The most label pairs on one sample (`le` and `quantile` included).
   * @default {64}
   */
  readonly maxLabelPairs?: number;
  /**
   * The longest label value (unescaped), in UTF-16 code units, as the
   * registry's `DEFAULT_MAX_LABEL_VALUE_LENGTH`.
   * @default {4096}
   */
  readonly maxLabelValueLength?: number;
  /**
   * The longest HELP text (unescaped), in UTF-16 code units.
   * @default {4096}
   */
  readonly maxHelpLength?: number;
  /**
   * Accept a timestamp after a sample's value and drop it, as a test
   * comparing expositions does; a push refuses it.
   * @default {false}
   */
  readonly dropTimestamps?: boolean;
  /**
   * Keep families that have HELP or TYPE lines but no sample; a push
   * leaves them out.
   * @default {false}
   */
  readonly keepEmptyFamilies?: boolean;
}

/**
 * A body that cannot be parsed: its message is fit for an HTTP 400 answer,
 * e.g. `Cannot parse line 7: label value is not quoted`.
 */
export class PushTextError extends TypeError {
  /** The 1-based line at fault. */
  readonly line: number;
  /** What is wrong, without the line prefix. */
  readonly reason: string;
  /** The limit exceeded, when a limit was (an HTTP 413 candidate). */
  readonly limit: PushLimit | undefined;

  /**
   * Creates the error.
   *
   * @param line The 1-based line at fault.
   * @param reason What is wrong.
   * @param limit The limit exceeded, if that is what is wrong.
   */
  constructor(line: number, reason: string, limit?: PushLimit) {
    super(`Cannot parse line ${line}: ${reason}`);
    this.name = "PushTextError";
    this.line = line;
    this.reason = reason;
    this.limit = limit;
  }
}

const DEFAULTS = {
  maxSeries: 10_000,
  maxLineLength: 65_536,
  maxLabelPairs: 64,
  maxLabelValueLength: 4096,
  maxHelpLength: 4096,
} as const;

const TYPES: ReadonlyMap<string, PushMetricType> = new Map(
  Object.values(PushMetricType).map((type) => [type, type]),
);

const SPACE = 32;
const TAB = 9;
const HASH = 35;
const BRACE_OPEN = 123;
const BRACE_CLOSE = 125;
const EQUALS = 61;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const UNDERSCORE = 95;

interface FamilyBuilder {
  readonly name: string;
  type: PushMetricType | undefined;
  help: string | undefined;
  samples: PushSample[];
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}

function isNameCode(code: number, colon: boolean): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) ||
    (code >= 48 && code <= 57) || code === UNDERSCORE ||
    (colon && code === COLON);
}

/** Go's `ParseFloat` words: `[+-]inf`, `[+-]infinity`, `nan`, any case. */
function parseWord(token: string): number | undefined {
  const lower = token.toLowerCase();
  switch (lower) {
    case "inf":
    case "+inf":
    case "infinity":
    case "+infinity":
      return Infinity;
    case "-inf":
    case "-infinity":
      return -Infinity;
    case "nan":
    case "+nan":
    case "-nan":
      return NaN;
  }
  return undefined;
}

/** A float as the text format writes it, or undefined. */
function parseFloatToken(
  text: string,
  start: number,
  end: number,
): number | undefined {
  const decimal = parseDecimal(text, start, end);
  if (decimal === decimal) {
    return Number.isFinite(decimal) ? decimal : undefined;
  }
  if (end - start > 9) return undefined;
  return parseWord(text.slice(start, end));
}

function checkLimit(name: PushLimit, value: number | undefined): number {
  const limit = value ?? DEFAULTS[name];
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(
      `Cannot parse pushed metrics: ${name} must be a positive integer, got ${
        String(limit)
      }`,
    );
  }
  return limit;
}

/** The suffixes a histogram or summary owns. */
function familySuffix(name: string): number {
  if (name.endsWith("_bucket")) return 7;
  if (name.endsWith("_count")) return 6;
  if (name.endsWith("_sum")) return 4;
  return 0;
}

/**
 * Parses a text format 0.0.4 body.
 *
 * @param text The body, decoded (and gunzipped) already.
 * @param options Limits on series, line length and label pairs.
 * @returns The families with samples, in order of first appearance.
 * @throws {PushTextError} Naming the 1-based line and the reason (and the
 *   limit, when one is exceeded); nothing else for any string input.
 * @throws {RangeError} When an option is not a positive integer.
 *
 * @example A counter and a histogram
 * ```ts
 * import { parsePushText, PushTextError } from "./push_text.ts";
 * import assert from "node:assert/strict";
 *
 * const families = parsePushText(
 *   [
 *     "# HELP jobs_total Jobs run.",
 *     "# TYPE jobs_total counter",
 *     'jobs_total{queue="a"} 3',
 *     "# TYPE latency_seconds histogram",
 *     'latency_seconds_bucket{le="0.5"} 1',
 *     'latency_seconds_bucket{le="+Inf"} 2',
 *     "latency_seconds_sum 1.25",
 *     "latency_seconds_count 2",
 *     "",
 *   ].join("\n"),
 * );
 * assert.deepEqual(families.map((f) => [f.name, f.type, f.samples.length]), [
 *   ["jobs_total", "counter", 1],
 *   ["latency_seconds", "histogram", 4],
 * ]);
 * assert.throws(
 *   () => parsePushText("up{job=x} 1\n"),
 *   (error) =>
 *     error instanceof PushTextError && error.line === 1 &&
 *     error.message === "Cannot parse line 1: label value is not quoted",
 * );
 * ```
 */
export function parsePushText(
  text: string,
  options: PushTextOptions = {},
): PushFamily[] {
  const maxSeries = checkLimit("maxSeries", options.maxSeries);
  const maxLineLength = checkLimit("maxLineLength", options.maxLineLength);
  const maxLabelPairs = checkLimit("maxLabelPairs", options.maxLabelPairs);
  const maxLabelValueLength = checkLimit(
    "maxLabelValueLength",
    options.maxLabelValueLength,
  );
  const maxHelpLength = checkLimit("maxHelpLength", options.maxHelpLength);
  const dropTimestamps = options.dropTimestamps === true;
  const keepEmpty = options.keepEmptyFamilies === true;
  if (typeof text !== "string") {
    throw new TypeError(
      `Cannot parse pushed metrics: the body must be a string, got ${typeof text}`,
    );
  }
  const families: FamilyBuilder[] = [];
  const byName = new Map<string, FamilyBuilder>();
  const seriesKeys = new Set<string>();
  let current: FamilyBuilder | undefined;
  let series = 0;
  let lineNumber = 0;
  const length = text.length;
  let pos = 0;

  const fail: (reason: string, limit?: PushLimit) => never = (
    reason,
    limit,
  ) => {
    throw new PushTextError(lineNumber, reason, limit);
  };

  /** The family `name` for a HELP or TYPE line, opened if new. */
  const describe = (name: string): FamilyBuilder => {
    const found = byName.get(name);
    if (found !== undefined) {
      if (found !== current) interleaved(name);
      return found;
    }
    const suffix = familySuffix(name);
    if (suffix > 0) {
      const owner = byName.get(name.slice(0, -suffix));
      if (
        owner !== undefined &&
        (owner.type === "histogram" || owner.type === "summary")
      ) {
        fail(
          `metric "${name}" clashes with the samples of ${owner.type} "${owner.name}"`,
        );
      }
    }
    return open(name);
  };

  const open = (name: string): FamilyBuilder => {
    const family: FamilyBuilder = {
      name,
      type: undefined,
      help: undefined,
      samples: [],
    };
    byName.set(name, family);
    families.push(family);
    current = family;
    return family;
  };

  const interleaved: (name: string) => never = (name) =>
    fail(
      `the lines of metric "${name}" must be one group, but another metric's lines come between them`,
    );

  // Reused per sample line.
  const names: string[] = [];
  const values: string[] = [];
  const order: number[] = [];

  while (pos < length) {
    lineNumber++;
    let end = text.indexOf("\n", pos);
    const next = end < 0 ? length : end + 1;
    if (end < 0) end = length;
    if (end - pos > maxLineLength) {
      fail(
        `line longer than ${maxLineLength} characters (maxLineLength)`,
        "maxLineLength",
      );
    }
    let i = pos;
    pos = next;
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i === end) continue;

    if (text.charCodeAt(i) === HASH) {
      i++;
      while (i < end && isBlank(text.charCodeAt(i))) i++;
      const keywordStart = i;
      while (i < end && !isBlank(text.charCodeAt(i))) i++;
      const keyword = text.slice(keywordStart, i);
      if (keyword !== "HELP" && keyword !== "TYPE") continue;
      while (i < end && isBlank(text.charCodeAt(i))) i++;
      const nameStart = i;
      while (i < end && isNameCode(text.charCodeAt(i), true)) i++;
      if (i === nameStart) {
        if (i === end) continue;
        fail(`invalid metric name in ${keyword} line`);
      }
      if (i < end && !isBlank(text.charCodeAt(i))) {
        fail(`invalid metric name in ${keyword} line`);
      }
      const name = text.slice(nameStart, i);
      const problem = metricNameProblem(name);
      if (problem !== undefined) {
        fail(`invalid metric name "${name}" in ${keyword} line: ${problem}`);
      }
      while (i < end && isBlank(text.charCodeAt(i))) i++;
      if (i === end) continue;
      const family = describe(name);
      if (keyword === "HELP") {
        if (family.help !== undefined) {
          fail(`second HELP line for metric "${name}"`);
        }
        const help = unescapeHelp(text.slice(i, end));
        if (help.length > maxHelpLength) {
          fail(
            `HELP of metric "${name}" longer than ${maxHelpLength} characters (maxHelpLength)`,
            "maxHelpLength",
          );
        }
        family.help = help;
      } else {
        if (family.samples.length > 0) {
          fail(`TYPE line for metric "${name}" after its samples`);
        }
        if (family.type !== undefined) {
          fail(`second TYPE line for metric "${name}"`);
        }
        const typeStart = i;
        while (i < end && !isBlank(text.charCodeAt(i))) i++;
        const word = text.slice(typeStart, i);
        const type = TYPES.get(word) ?? TYPES.get(word.toLowerCase());
        if (type === undefined) {
          fail(`unknown metric type "${word}" for metric "${name}"`);
        }
        while (i < end && isBlank(text.charCodeAt(i))) i++;
        if (i !== end) fail(`unexpected text after the type of "${name}"`);
        if (type === "histogram" || type === "summary") {
          for (const suffix of ["_bucket", "_sum", "_count"]) {
            if (byName.has(name + suffix)) {
              fail(
                `metric "${name}" of type ${type} clashes with metric "${name}${suffix}"`,
              );
            }
          }
        }
        family.type = type;
      }
      continue;
    }

    // A sample: name, optional labels, value, no timestamp.
    const nameStart = i;
    while (i < end && isNameCode(text.charCodeAt(i), true)) i++;
    if (i === nameStart) fail("invalid metric name");
    const name = text.slice(nameStart, i);
    const problem = metricNameProblem(name);
    if (problem !== undefined) {
      fail(`invalid metric name "${name}": ${problem}`);
    }
    names.length = 0;
    values.length = 0;
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i < end && text.charCodeAt(i) === BRACE_OPEN) {
      i++;
      for (;;) {
        while (i < end && isBlank(text.charCodeAt(i))) i++;
        if (i === end) fail("label set is not closed");
        if (text.charCodeAt(i) === BRACE_CLOSE) {
          i++;
          break;
        }
        const labelStart = i;
        while (i < end && isNameCode(text.charCodeAt(i), false)) i++;
        const label = text.slice(labelStart, i);
        if (!LABEL_NAME.test(label)) {
          fail(
            label === ""
              ? `invalid label name for metric "${name}"`
              : `invalid label name "${label}" for metric "${name}"`,
          );
        }
        if (label.startsWith("__")) {
          fail(
            `label name "${label}" is reserved: names starting with "__" are for internal use`,
          );
        }
        if (names.includes(label)) {
          fail(`label "${label}" is given twice for metric "${name}"`);
        }
        if (names.length >= maxLabelPairs) {
          fail(
            `more than ${maxLabelPairs} label pairs (maxLabelPairs)`,
            "maxLabelPairs",
          );
        }
        while (i < end && isBlank(text.charCodeAt(i))) i++;
        if (i === end || text.charCodeAt(i) !== EQUALS) {
          fail(`expected "=" after label name "${label}"`);
        }
        i++;
        while (i < end && isBlank(text.charCodeAt(i))) i++;
        if (i === end || text.charCodeAt(i) !== QUOTE) {
          fail("label value is not quoted");
        }
        i++;
        // The value: a slice when unescaped, built otherwise.
        const valueStart = i;
        let value: string | undefined;
        let built = "";
        let from = i;
        for (;;) {
          if (i === end) fail(`label value of "${label}" is not terminated`);
          const code = text.charCodeAt(i);
          if (code === QUOTE) {
            value = from === valueStart
              ? text.slice(valueStart, i)
              : built + text.slice(from, i);
            i++;
            break;
          }
          if (code === BACKSLASH) {
            const escaped = text.charCodeAt(i + 1);
            if (i + 1 >= end) {
              fail(`label value of "${label}" is not terminated`);
            }
            built += text.slice(from, i);
            if (escaped === BACKSLASH) built += "\\";
            else if (escaped === QUOTE) built += '"';
            else if (escaped === 110) built += "\n";
            else {
              fail(
                `invalid escape sequence "\\${
                  text[i + 1]
                }" in label value of "${label}"`,
              );
            }
            i += 2;
            from = i;
            continue;
          }
          i++;
        }
        if (value.length > maxLabelValueLength) {
          fail(
            `value of label "${label}" longer than ${maxLabelValueLength} characters (maxLabelValueLength)`,
            "maxLabelValueLength",
          );
        }
        names.push(label);
        values.push(value);
        while (i < end && isBlank(text.charCodeAt(i))) i++;
        if (i < end && text.charCodeAt(i) === COMMA) {
          i++;
          continue;
        }
        if (i < end && text.charCodeAt(i) === BRACE_CLOSE) {
          i++;
          break;
        }
        fail(
          i === end
            ? "label set is not closed"
            : `expected "," or "}" after the value of label "${label}"`,
        );
      }
      while (i < end && isBlank(text.charCodeAt(i))) i++;
    } else if (i === nameStart + name.length && i < end) {
      // The name ran into a character that is neither blank nor `{`.
      fail(`invalid metric name "${text.slice(nameStart, end).trim()}"`);
    }
    if (i === end) fail(`metric "${name}" has no value`);
    const valueStart = i;
    while (i < end && !isBlank(text.charCodeAt(i))) i++;
    const value = parseFloatToken(text, valueStart, i);
    if (value === undefined) {
      fail(`invalid value "${text.slice(valueStart, i)}" for metric "${name}"`);
    }
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i !== end && dropTimestamps && /^-?\d+\s*$/.test(text.slice(i, end))) {
      i = end;
    }
    if (i !== end) {
      const rest = text.slice(i, end).trimEnd();
      fail(
        /^-?\d+$/.test(rest)
          ? `metric "${name}" has a timestamp: pushed samples must not carry timestamps`
          : `unexpected text "${rest}" after the value of metric "${name}"`,
      );
    }

    // The family the sample belongs to.
    let family = byName.get(name);
    if (family !== undefined) {
      if (family.type === "histogram") {
        fail(
          `sample "${name}" of histogram "${name}" must be "${name}_bucket", "${name}_sum" or "${name}_count"`,
        );
      }
    } else {
      const suffix = familySuffix(name);
      const owner = suffix > 0 ? byName.get(name.slice(0, -suffix)) : undefined;
      if (
        owner !== undefined &&
        (owner.type === "histogram" ||
          (owner.type === "summary" && suffix !== 7))
      ) {
        family = owner;
      } else if (owner !== undefined && owner.type === "summary") {
        fail(
          `metric "${name}" clashes with the samples of summary "${owner.name}"`,
        );
      }
    }
    if (family === undefined) family = open(name);
    else if (family !== current) interleaved(family.name);
    family.type ??= "untyped";

    const isBase = name.length === family.name.length;
    if (family.type === "histogram") {
      const le = names.indexOf("le");
      if (name.endsWith("_bucket")) {
        if (le < 0) fail(`histogram bucket "${name}" has no "le" label`);
        const bound = values[le]!;
        if (parseFloatToken(bound, 0, bound.length) === undefined) {
          fail(`"le" label value "${bound}" of "${name}" is not a number`);
        }
      } else if (le >= 0) {
        fail(`"${name}" of histogram "${family.name}" has an "le" label`);
      }
    } else if (family.type === "summary") {
      const quantile = names.indexOf("quantile");
      if (isBase) {
        if (quantile < 0) fail(`summary "${name}" has no "quantile" label`);
        const q = values[quantile]!;
        if (parseFloatToken(q, 0, q.length) === undefined) {
          fail(`"quantile" label value "${q}" of "${name}" is not a number`);
        }
      } else if (quantile >= 0) {
        fail(
          `"${name}" of summary "${family.name}" has a "quantile" label`,
        );
      }
    }

    if (++series > maxSeries) {
      fail(`more than ${maxSeries} series (maxSeries)`, "maxSeries");
    }
    const key = seriesKey(name, names, values, order);
    if (seriesKeys.has(key)) fail(`series ${key} is given twice`);
    seriesKeys.add(key);
    family.samples.push({
      name,
      labelNames: names.slice(),
      labelValues: values.slice(),
      value,
    });
  }

  const out: PushFamily[] = [];
  for (const family of families) {
    if (family.samples.length === 0 && !keepEmpty) continue;
    out.push({
      name: family.name,
      type: family.type ?? "untyped",
      help: family.help,
      samples: family.samples,
    });
  }
  return out;
}

/** `name{a="1",b="2"}` with labels sorted by name, escaped: canonical. */
function seriesKey(
  name: string,
  names: readonly string[],
  values: readonly string[],
  order: number[],
): string {
  if (names.length === 0) return name;
  order.length = 0;
  for (let i = 0; i < names.length; i++) {
    // Insertion sort: label sets are small.
    let j = order.length;
    while (j > 0 && names[order[j - 1]!]! > names[i]!) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = i;
  }
  let key = name + "{";
  for (let k = 0; k < order.length; k++) {
    const index = order[k]!;
    if (k > 0) key += ",";
    key += `${names[index]}="${escapeLabelValue(values[index]!)}"`;
  }
  return key + "}";
}

/** Undoes HELP escaping: `\\` and `\n`; other backslashes stay. */
function unescapeHelp(help: string): string {
  if (!help.includes("\\")) return help;
  let out = "";
  for (let i = 0; i < help.length; i++) {
    const char = help[i]!;
    if (char === "\\" && i + 1 < help.length) {
      const next = help[i + 1];
      if (next === "\\") {
        out += "\\";
        i++;
        continue;
      }
      if (next === "n") {
        out += "\n";
        i++;
        continue;
      }
    }
    out += char;
  }
  return out;
}
