/**
 * StatsD and DogStatsD line parsing: pure, no I/O, no registry.
 *
 * A {@linkcode StatsdParser} takes one UDP datagram or TCP chunk, splits it
 * into lines and hands each non-empty line to a sink exactly once: parsed,
 * or rejected with a {@linkcode StatsdRejectReason}. It never throws on
 * input, so a listener counts every line it receives.
 *
 * Accepted forms (statsd_exporter's `pkg/line/line.go` is the reference):
 * - `name:value|type[|@rate][|#tags][|c:container][|T<unix>]`, types `c`,
 *   `g`, `ms`, `h`, `d`, `s`;
 * - DogStatsD 1.1 packed values `name:1:2:3|ms` (for `ms`, `h` and `d` only,
 *   as statsd_exporter; other types are rejected with `bad_type`);
 * - `|c:<id>` (DogStatsD 1.2) and `|T<unix>` (1.3) are checked and ignored:
 *   statsd_exporter turns the container id into a `container_id` label, which
 *   Vigil does not, to keep one series per container out of the registry.
 *
 * Not accepted: etsy's multi-metric form `name:1|c:2|g` (ambiguous next to
 * DogStatsD's `|c:` field), and the InfluxDB, Librato and SignalFx tag
 * styles.
 *
 * @module
 */
import { labelNameProblem } from "../base/_validation.ts";
import { parseDecimal } from "./_decimal.ts";

/** The StatsD metric types, by their wire letters. */
export const StatsdType = {
  /** `c`: a counter increment, scaled by `1 / rate`. */
  Counter: "c",
  /** `g`: a gauge value, or a delta when signed with `+` or `-`. */
  Gauge: "g",
  /** `ms`: a timer observation in milliseconds. */
  Timer: "ms",
  /** `h`: a histogram observation, unit-less. */
  Histogram: "h",
  /** `d`: a DogStatsD distribution observation, unit-less. */
  Distribution: "d",
  /** `s`: a set member, any token. */
  Set: "s",
} as const;

/** One of the values of {@linkcode StatsdType}. */
export type StatsdType = typeof StatsdType[keyof typeof StatsdType];

/** Why a line was rejected; the `reason` label of the rejection counter. */
export const StatsdRejectReason = {
  /** No `:` after a non-empty name, no `|type`, an empty or unknown field, invalid UTF-8. */
  Malformed: "malformed",
  /** A value that is not a finite number, or a negative counter or timer. */
  BadValue: "bad_value",
  /** An unknown type, or packed values on a type other than `ms`, `h`, `d`. */
  BadType: "bad_type",
  /** `@rate` not a number in (0, 1], or given twice. */
  BadSampleRate: "bad_sample_rate",
  /** A malformed tag, only when `badTags` is `"reject"`. */
  BadTag: "bad_tag",
  /** A line longer than `maxLineLength`. */
  TooLong: "too_long",
} as const;

/** One of the values of {@linkcode StatsdRejectReason}. */
export type StatsdRejectReason =
  typeof StatsdRejectReason[keyof typeof StatsdRejectReason];

/**
 * A parsed line. The parser reuses one record for every line: it is valid
 * only during the {@linkcode StatsdSink.line} call; copy what you keep.
 */
export interface StatsdLine {
  /** The metric name as sent (dotted, unsanitised; see `escapeMetricName`). */
  name: string;
  /** The metric type. */
  type: StatsdType;
  /**
   * The numeric values: one, or several for packed `ms`/`h`/`d` lines.
   * Counters are already scaled by `1 / sampleRate`; timers stay in
   * milliseconds. Empty for sets.
   */
  values: number[];
  /** The member of a set (`s`); `""` for the other types. */
  member: string;
  /** Whether a gauge value is a delta (it was signed with `+` or `-`). */
  delta: boolean;
  /**
   * The `@rate`, 1 when absent. Counters are scaled already and gauges
   * ignore it (as statsd_exporter); an observation stands for
   * `1 / sampleRate` observations (statsd_exporter records
   * `floor(1 / rate)` copies).
   */
  sampleRate: number;
  /** Tag keys, sanitised to label names with {@linkcode escapeMetricName}. */
  tagNames: string[];
  /** Tag values, parallel to `tagNames`. */
  tagValues: string[];
  /** How many tags were malformed and dropped (with `badTags: "drop"`). */
  droppedTags: number;
}

/** Where a {@linkcode StatsdParser} delivers lines. */
export interface StatsdSink {
  /** Receives each accepted line; the record is reused after the call returns. */
  line(line: StatsdLine): void;
  /** Receives each rejected line with the reason. */
  reject(reason: StatsdRejectReason, text: string): void;
}

/** What to do with a malformed DogStatsD tag. */
export const BadTagPolicy = {
  /** Drop the tag, keep the line, count it in `droppedTags` (statsd_exporter). */
  Drop: "drop",
  /** Reject the whole line with `bad_tag`. */
  Reject: "reject",
} as const;

/** One of the values of {@linkcode BadTagPolicy}. */
export type BadTagPolicy = typeof BadTagPolicy[keyof typeof BadTagPolicy];

/** Options of {@linkcode StatsdParser}. */
export interface StatsdParserOptions {
  /**
   * The longest line accepted, in UTF-16 code units after decoding; a longer
   * one is rejected with `too_long`.
   * @default {8192}
   */
  readonly maxLineLength?: number;
  /**
   * A tag without `:`, with an empty key or value, or whose key is no valid
   * label name even after sanitising (`__`-prefixed, `le`, `quantile`).
   * @default {"drop"}
   */
  readonly badTags?: BadTagPolicy;
}

const DEFAULT_MAX_LINE_LENGTH = 8192;

// Character codes used by the scanner.
const CR = 13;
const COLON = 58;
const HASH = 35;
const AT = 64;
const PLUS = 43;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;
const UNDERSCORE = 95;
const REPLACEMENT = "\uFFFD";

/**
 * Replaces the characters not allowed in a Prometheus metric name, as
 * statsd_exporter's `EscapeMetricName` does (`pkg/mapper/escape.go`): every
 * character other than `[a-zA-Z0-9_]` becomes `_` (one per code point), a
 * run of `-` becomes a single `_`, and a leading digit gets a `_` prefix.
 * Colons are replaced too. The empty string stays empty.
 *
 * @param name A StatsD name or tag key.
 * @returns The sanitised name; `name` itself when nothing needed replacing.
 *
 * @example Dots, dashes and a leading digit
 * ```ts
 * import { escapeMetricName } from "./statsd.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeMetricName("api.requests"), "api_requests");
 * assert.equal(escapeMetricName("a--b"), "a_b");
 * assert.equal(escapeMetricName("5xx"), "_5xx");
 * assert.equal(escapeMetricName("ünï"), "_n_");
 * ```
 */
export function escapeMetricName(name: string): string {
  const length = name.length;
  if (length === 0) return "";
  let i = 0;
  const first = name.charCodeAt(0);
  if (!(first >= ZERO && first <= NINE)) {
    // Fast path: nothing to replace.
    while (i < length && isNameChar(name.charCodeAt(i))) i++;
    if (i === length) return name;
  }
  let out = first >= ZERO && first <= NINE ? "_" : "";
  out += name.slice(0, i);
  let previousDash = false;
  for (; i < length; i++) {
    const code = name.charCodeAt(i);
    if (isNameChar(code)) {
      out += name[i];
      previousDash = false;
      continue;
    }
    if (code === MINUS) {
      if (!previousDash) out += "_";
      previousDash = true;
      continue;
    }
    previousDash = false;
    // One `_` per code point: a surrogate pair is one character.
    if (
      code >= 0xd800 && code <= 0xdbff && i + 1 < length &&
      (name.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      i++;
    }
    out += "_";
  }
  return out;
}

/** `[a-zA-Z0-9_]`. */
function isNameChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) ||
    (code >= ZERO && code <= NINE) || code === UNDERSCORE;
}

/**
 * Sanitises a DogStatsD tag key into a label name: {@linkcode
 * escapeMetricName}, then the label-name rule of `src/base`. Returns
 * `undefined` for a key that stays invalid (empty, `__`-prefixed, `le`,
 * `quantile`): such a tag is malformed.
 *
 * @param key The tag key as sent.
 * @returns A valid label name, or `undefined`.
 *
 * @example Keys from DogStatsD clients
 * ```ts
 * import { sanitizeLabelName } from "./statsd.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sanitizeLabelName("http.method"), "http_method");
 * assert.equal(sanitizeLabelName("le"), undefined);
 * assert.equal(sanitizeLabelName(""), undefined);
 * ```
 */
export function sanitizeLabelName(key: string): string | undefined {
  const label = escapeMetricName(key);
  return labelNameProblem(label) === undefined ? label : undefined;
}

function typeAt(text: string, start: number, end: number): StatsdType | "" {
  const length = end - start;
  const a = text.charCodeAt(start);
  if (length === 1) {
    switch (a) {
      case 99:
        return "c";
      case 103:
        return "g";
      case 104:
        return "h";
      case 100:
        return "d";
      case 115:
        return "s";
    }
    return "";
  }
  if (length === 2 && a === 109 && text.charCodeAt(start + 1) === 115) {
    return "ms";
  }
  return "";
}

/**
 * A reusable StatsD/DogStatsD line parser bound to a sink.
 *
 * @example Count, tag and reject
 * ```ts
 * import { StatsdParser, type StatsdLine } from "./statsd.ts";
 * import assert from "node:assert/strict";
 *
 * const seen: string[] = [];
 * const rejected: string[] = [];
 * const parser = new StatsdParser({
 *   line(line: StatsdLine) {
 *     seen.push(`${line.name} ${line.type} ${line.values} ${line.tagNames}`);
 *   },
 *   reject(reason) {
 *     rejected.push(reason);
 *   },
 * });
 * const lines = parser.parse(
 *   new TextEncoder().encode("hits:1|c|@0.5|#route:/a\nrt:1:2|ms\nbad\n"),
 * );
 * assert.equal(lines, 3);
 * assert.deepEqual(seen, ["hits c 2 route", "rt ms 1,2 "]);
 * assert.deepEqual(rejected, ["malformed"]);
 * ```
 */
export class StatsdParser {
  readonly #sink: StatsdSink;
  readonly #maxLineLength: number;
  readonly #rejectBadTags: boolean;
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  readonly #record: StatsdLine = {
    name: "",
    type: "c",
    values: [],
    member: "",
    delta: false,
    sampleRate: 1,
    tagNames: [],
    tagValues: [],
    droppedTags: 0,
  };

  /**
   * Creates a parser; options are checked here.
   *
   * @param sink Receives every non-empty line, parsed or rejected.
   * @param options Limits and the bad-tag policy.
   * @throws {RangeError} When `maxLineLength` is not a positive integer.
   * @throws {TypeError} When `badTags` is not `"drop"` or `"reject"`.
   */
  constructor(sink: StatsdSink, options: StatsdParserOptions = {}) {
    const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(
        `Cannot create StatsD parser: maxLineLength must be a positive integer, got ${
          String(max)
        }`,
      );
    }
    const badTags = options.badTags ?? "drop";
    if (badTags !== "drop" && badTags !== "reject") {
      throw new TypeError(
        `Cannot create StatsD parser: badTags must be "drop" or "reject", got ${
          JSON.stringify(badTags)
        }`,
      );
    }
    this.#sink = sink;
    this.#maxLineLength = max;
    this.#rejectBadTags = badTags === "reject";
  }

  /**
   * Parses one datagram or chunk: splits on `\n`, drops a trailing `\r`,
   * skips empty lines, and hands every other line to the sink once.
   *
   * @param packet The bytes received (decoded as UTF-8) or a string.
   * @returns The number of non-empty lines, accepted plus rejected.
   */
  parse(packet: Uint8Array | string): number {
    const text = typeof packet === "string"
      ? packet
      : this.#decoder.decode(packet);
    // Only a packet with a replacement character needs the per-line check.
    const checkUtf8 = text.includes(REPLACEMENT);
    let count = 0;
    let start = 0;
    const length = text.length;
    while (start <= length) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = length;
      const next = end + 1;
      if (end > start && text.charCodeAt(end - 1) === CR) end--;
      if (end > start) {
        count++;
        this.#line(text, start, end, checkUtf8);
      }
      start = next;
    }
    return count;
  }

  #line(text: string, start: number, end: number, checkUtf8: boolean): void {
    if (end - start > this.#maxLineLength) {
      this.#sink.reject("too_long", text.slice(start, end));
      return;
    }
    const reason = this.#fill(text, start, end, checkUtf8);
    if (reason === undefined) this.#sink.line(this.#record);
    else this.#sink.reject(reason, text.slice(start, end));
  }

  /** Fills the record from `text[start, end)`, or says why not. */
  #fill(
    text: string,
    start: number,
    end: number,
    checkUtf8: boolean,
  ): StatsdRejectReason | undefined {
    if (checkUtf8) {
      const bad = text.indexOf(REPLACEMENT, start);
      if (bad >= 0 && bad < end) return "malformed";
    }
    const colon = text.indexOf(":", start);
    if (colon <= start || colon >= end) return "malformed";
    const pipe = text.indexOf("|", colon);
    if (pipe < 0 || pipe >= end) return "malformed";
    let typeEnd = text.indexOf("|", pipe + 1);
    if (typeEnd < 0 || typeEnd > end) typeEnd = end;
    const type = typeAt(text, pipe + 1, typeEnd);
    if (type === "") return pipe + 1 === typeEnd ? "malformed" : "bad_type";

    const record = this.#record;
    record.type = type;
    record.delta = false;
    record.member = "";
    record.sampleRate = 1;
    record.droppedTags = 0;
    record.tagNames.length = 0;
    record.tagValues.length = 0;
    const values = record.values;
    values.length = 0;

    // Values, between the first `:` and the first `|`.
    if (type === "s") {
      if (pipe === colon + 1) return "bad_value";
      record.member = text.slice(colon + 1, pipe);
    } else {
      let from = colon + 1;
      for (;;) {
        let to = text.indexOf(":", from);
        if (to < 0 || to > pipe) to = pipe;
        if (to === from) return "bad_value";
        const value = parseDecimal(text, from, to);
        if (!Number.isFinite(value)) return "bad_value";
        values.push(value);
        if (to === pipe) break;
        from = to + 1;
      }
      if (values.length > 1 && type !== "ms" && type !== "h" && type !== "d") {
        return "bad_type";
      }
      if (type === "g") {
        const sign = text.charCodeAt(colon + 1);
        record.delta = sign === PLUS || sign === MINUS;
      } else if (type === "c" || type === "ms") {
        if (values[0]! < 0) return "bad_value";
        for (let i = 1; i < values.length; i++) {
          if (values[i]! < 0) return "bad_value";
        }
      }
    }

    // Fields after the type: `@rate`, `#tags`, `c:container`, `T<unix>`.
    let rateSeen = false;
    let from = typeEnd + 1;
    while (from <= end && typeEnd < end) {
      let to = text.indexOf("|", from);
      if (to < 0 || to > end) to = end;
      if (to === from) return "malformed";
      const lead = text.charCodeAt(from);
      if (lead === AT) {
        if (rateSeen) return "bad_sample_rate";
        rateSeen = true;
        const rate = parseDecimal(text, from + 1, to);
        if (!(rate > 0 && rate <= 1)) return "bad_sample_rate";
        record.sampleRate = rate;
      } else if (lead === HASH) {
        if (!this.#tags(text, from + 1, to)) return "bad_tag";
      } else if (lead === 99 && text.charCodeAt(from + 1) === COLON) {
        if (to - from < 3) return "malformed";
      } else if (lead === 84) {
        // `T` and a Unix time in seconds: checked, then ignored.
        if (to - from < 2) return "malformed";
        for (let i = from + 1; i < to; i++) {
          const code = text.charCodeAt(i);
          if (code < ZERO || code > NINE) return "malformed";
        }
      } else {
        return "malformed";
      }
      from = to + 1;
    }
    if (type === "c" && record.sampleRate !== 1) {
      for (let i = 0; i < values.length; i++) {
        values[i] = values[i]! / record.sampleRate;
      }
    }
    record.name = text.slice(start, colon);
    return undefined;
  }

  /** Reads `k:v,k2:v2`; false when a bad tag rejects the line. */
  #tags(text: string, start: number, end: number): boolean {
    const record = this.#record;
    let from = start;
    // An empty section and a trailing comma add nothing, as in statsd_exporter.
    while (from < end) {
      let to = text.indexOf(",", from);
      if (to < 0 || to > end) to = end;
      let keyStart = from;
      if (text.charCodeAt(keyStart) === HASH && keyStart < to) keyStart++;
      const colon = text.indexOf(":", keyStart);
      const label = colon > keyStart && colon < to - 1
        ? sanitizeLabelName(text.slice(keyStart, colon))
        : undefined;
      if (label === undefined) {
        if (this.#rejectBadTags) return false;
        record.droppedTags++;
      } else {
        const value = text.slice(colon + 1, to);
        // A repeated key keeps the last value, as statsd_exporter's map does.
        const index = record.tagNames.indexOf(label);
        if (index >= 0) {
          record.tagValues[index] = value;
        } else {
          record.tagNames.push(label);
          record.tagValues.push(value);
        }
      }
      from = to + 1;
    }
    return true;
  }
}
