// Line formats (one JSON object a line; a coloured human format) and the
// redaction of secrets, for LogTape sinks. LogTape's own JSON Lines formatter
// writes `@timestamp`, upper-case levels and no service fields, and neither
// bounds field lengths nor depth, so the JSON line is written here; redaction
// is LogTape's (`redactByField`, `redactByPattern`) behind cheap checks that
// skip it when it could not change anything.
import {
  type Drainable,
  getAnsiColorFormatter,
  getTextFormatter,
  type LogLevel,
  type Sink,
  type TextFormatter,
  type TextFormatterOptions,
} from "@logtape/logtape";
import {
  redactByField,
  redactByPattern,
  type RedactionPatterns,
} from "@logtape/redaction";

/**
 * The fields every line has or may have, in order: what log shippers
 * (`deploy/`) key on. The call's own fields follow them.
 *
 * @example Check a line's leading fields
 * ```ts
 * import assert from "node:assert/strict";
 * import { LOG_FIELDS } from "./format.ts";
 *
 * assert.deepEqual(LOG_FIELDS.slice(0, 4), ["timestamp", "level", "logger", "message"]);
 * ```
 */
export const LOG_FIELDS = [
  "timestamp",
  "level",
  "logger",
  "message",
  "service",
  "environment",
  "version",
  "request_id",
  "user_id",
  "trace_id",
  "span_id",
  "event",
] as const;

/** Options of {@linkcode jsonFormatter} (and {@linkcode prettyFormatter}). */
export interface JsonFormatOptions {
  /** The service name written on every line. */
  readonly service: string;
  /** The deployment environment written on every line, e.g. `production`. */
  readonly environment: string;
  /** The service version written on every line. */
  readonly version: string;
  /**
   * The longest string value (and message) written, in UTF-16 code units;
   * longer ones are cut and end with `…[truncated N chars]`.
   *
   * @default {8192}
   */
  readonly maxFieldLength?: number;
}

/** Options of {@linkcode prettyFormatter}. */
export interface PrettyFormatOptions extends JsonFormatOptions {
  /**
   * Colour the level (and dim the timestamp and logger) with ANSI codes.
   *
   * @default {true}
   */
  readonly colors?: boolean;
}

/**
 * The value written in place of a secret.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REDACTED } from "./format.ts";
 *
 * assert.equal(REDACTED, "[REDACTED]");
 * ```
 */
export const REDACTED = "[REDACTED]";

/**
 * The keys whose values {@linkcode redactSecrets} replaces by
 * {@linkcode REDACTED}: authorization, cookie, set-cookie, password, passwd,
 * secret, token, access_token, refresh_token, api_key, apikey, credential(s)
 * and private_key, case-insensitively, with `-`, `_` or nothing between the
 * words (`Set-Cookie`, `API_KEY`, `accessToken`), and also after a prefix
 * that ends in `-`, `_` or `.` (`X-Api-Key`, `Proxy-Authorization`,
 * `db_password`, `client_secret`). The whole key must match: `tokens`,
 * `token_count` and `passwordHint` are kept. One expression rather than one
 * per name because `redactByField` tests every pattern on every key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SECRET_FIELDS } from "./format.ts";
 *
 * const secret = (key: string) => SECRET_FIELDS.some((re) => re.test(key));
 * assert.ok(secret("X-Api-Key") && secret("password") && !secret("token_count"));
 * ```
 */
export const SECRET_FIELDS: readonly RegExp[] = [
  /^(?:[\s\S]*[-_.])?(?:authorization|set[-_]?cookie|cookie|passwd|password|secret|access[-_]?token|refresh[-_]?token|token|api[-_]?key|credentials?|private[-_]?key)$/i,
];

/**
 * Patterns that mask credentials in URLs anywhere in a formatted line:
 * `scheme://user:pass@host` becomes `scheme://[REDACTED]@host`, and the query
 * parameters token, access_token, refresh_token, api_key, apikey, password,
 * secret, key, sig and signature (any case) become `name=[REDACTED]`. Used by
 * {@linkcode maskUrlSecrets} with LogTape's `redactByPattern`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { URL_SECRET_PATTERNS } from "./format.ts";
 *
 * let text = "https://u:p@db:5432/x?token=abc&x=1";
 * for (const { pattern, replacement } of URL_SECRET_PATTERNS) {
 *   text = text.replaceAll(pattern, replacement as string);
 * }
 * assert.equal(text, "https://[REDACTED]@db:5432/x?token=[REDACTED]&x=1");
 * ```
 */
export const URL_SECRET_PATTERNS: RedactionPatterns = [
  // The user information ends at the last `@` before the authority ends; a
  // double quote or backslash ends it too, since in a JSON line that is the
  // end of the string or an escape (a single quote is a valid character of
  // a password in a URL, and masked with it).
  { pattern: /:\/\/[^\s/?#"\\]*@/g, replacement: `://${REDACTED}@` },
  {
    pattern:
      /([?&;](?:access_token|refresh_token|id_token|token|client_secret|api_key|apikey|password|passwd|secret|key|signature|sig|x-amz-security-token|x-amz-signature|x-amz-credential)=)[^&#;\s"'\\]*/gi,
    replacement: `$1${REDACTED}`,
  },
];

/**
 * Masks credentials in URLs anywhere in a text with
 * {@linkcode URL_SECRET_PATTERNS}: `scheme://user:pass@host` and secret
 * query parameters. What the logs' line mask does, for one string.
 *
 * @param text The text, such as an exception message or a URL.
 * @returns The text with its URL secrets replaced by `[REDACTED]`.
 *
 * @example Mask a token in a message
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskText } from "./format.ts";
 *
 * assert.equal(
 *   maskText("GET https://api/x?token=abc failed"),
 *   "GET https://api/x?token=[REDACTED] failed",
 * );
 * ```
 */
export function maskText(text: string): string {
  // Both patterns need a `@` or a `=`: most texts pass untouched.
  if (!text.includes("@") && !text.includes("=")) return text;
  let masked = text;
  for (const { pattern, replacement } of URL_SECRET_PATTERNS) {
    masked = masked.replace(pattern, replacement as string);
  }
  return masked;
}

const DEFAULT_MAX_FIELD_LENGTH = 8192;
/** Objects nested deeper than this are written as a marker. */
const MAX_DEPTH = 10;
/** Items of one array, set, map or object written; the rest are counted. */
const MAX_ENTRIES = 1000;
/** Items written for one record, all containers together. */
const MAX_RECORD_ENTRIES = 10_000;
/** Date's range: `toISOString()` throws outside it. */
const MAX_TIME = 8.64e15;

/** The line's own keys: a property with one of these names gets a `_` prefix. */
const RESERVED = new Set<string>(LOG_FIELDS.slice(0, 7));
/** Properties written right after the fixed fields, in this order. */
const CONTEXT_FIELDS = LOG_FIELDS.slice(7);
const CONTEXT_SET = new Set<string>(CONTEXT_FIELDS);

// C1 controls can drive some terminals; U+2028/U+2029 end a line for some
// readers. Escaped in the pretty format, which goes to a terminal.
const UNSAFE_CHARS = /[\u007f-\u009f\u2028\u2029]/;
/** What ends a URL's authority (see URL_SECRET_PATTERNS). */
const AUTHORITY_END = /[\s/?#"'\\]/;
const UNSAFE_CHARS_ALL = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * A formatter that writes each record as one JSON object on one line:
 * `timestamp` (ISO 8601 UTC, milliseconds), `level`, `logger` (the category
 * joined with `.`), `message`, `service`, `environment`, `version`, then
 * `request_id`, `user_id`, `trace_id`, `span_id` and `event` when the record
 * has them, then its other properties in insertion order. A property named
 * like one of the first seven fields is written with a `_` prefix, so a
 * caller cannot overwrite them.
 *
 * Whatever the values hold (newlines, quotes, control characters, lone
 * surrogates, cycles, `BigInt`s, errors, getters that throw), the result is
 * one valid JSON line: strings longer than `maxFieldLength` are cut with a
 * marker, cycles are written `"[Circular]"`, `BigInt`s as strings of digits,
 * errors as `{name, message, stack}` (with `code` and an error `cause`),
 * maps as objects, sets and typed arrays as arrays, dates as ISO strings,
 * and objects nested deeper than 10 levels as a marker.
 *
 * @param options Service fields and the longest string written.
 * @returns A LogTape text formatter; each line ends with `"\n"`.
 * @throws {RangeError} If `maxFieldLength` is not a positive integer.
 *
 * @example Format a record
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonFormatter } from "./format.ts";
 *
 * const format = jsonFormatter({ service: "api", environment: "test", version: "1.0.0" });
 * const line = format({
 *   category: ["vigil", "http"],
 *   level: "info",
 *   message: ["Request served"],
 *   rawMessage: "Request served",
 *   timestamp: 0,
 *   properties: { status: 200, request_id: "r1" },
 * });
 * assert.equal(
 *   line,
 *   '{"timestamp":"1970-01-01T00:00:00.000Z","level":"info","logger":"vigil.http",' +
 *     '"message":"Request served","service":"api","environment":"test","version":"1.0.0",' +
 *     '"request_id":"r1","status":200}\n',
 * );
 * ```
 */
export function jsonFormatter(options: JsonFormatOptions): TextFormatter {
  const max = fieldLength(options.maxFieldLength);
  const fixed = `,"service":${quote(options.service, max)},"environment":${
    quote(options.environment, max)
  },"version":${quote(options.version, max)}`;
  const timestamp = isoTimestamps();
  const loggers = new WeakMap<readonly string[], string>();
  // Each property name's `,"name":` (renamed if reserved, "" for the context
  // fields written first): JSON.stringify() of every key was a fifth of a
  // line's cost.
  const keys = new Map<string, string>();
  return (record) => {
    const properties = record.properties;
    let logger = loggers.get(record.category);
    if (logger === undefined) {
      logger = quote(record.category.join("."), max);
      loggers.set(record.category, logger);
    }
    let walk: Walk | undefined;
    const message = record.message.length === 1 &&
        typeof record.message[0] === "string"
      ? record.message[0]
      : renderMessage(record.message, walk ??= newWalk(max));
    let line = `{"timestamp":"${timestamp(record.timestamp)}","level":${
      levelJson(record.level)
    },"logger":${logger},"message":${quote(message, max)}${fixed}`;
    for (const key of CONTEXT_FIELDS) {
      const value = properties[key];
      if (value === undefined) continue;
      const json = typeof value === "string"
        ? quote(value, max)
        : toJson(value, walk ??= newWalk(max), 0);
      if (json !== undefined) line += `,"${key}":${json}`;
    }
    for (const key of Object.keys(properties)) {
      let prefix = keys.get(key);
      if (prefix === undefined) {
        prefix = CONTEXT_SET.has(key)
          ? ""
          : `,${quote(RESERVED.has(key) ? `_${key}` : key, max)}:`;
        if (keys.size < 1024) keys.set(key, prefix);
      }
      if (prefix === "") continue;
      const value = properties[key];
      // Strings and numbers inline; only objects are walked.
      const json = typeof value === "string"
        ? quote(value, max)
        : typeof value === "number"
        ? numberJson(value)
        : toJson(value, walk ??= newWalk(max), 0);
      if (json !== undefined) line += prefix + json;
    }
    // C1 controls and U+2028/U+2029 are valid JSON and stay; escaping them
    // (as LogTape's JSON Lines formatter does, for terminals) costs a scan of
    // the line, about 250 ns. Every C0 control, ESC included, is escaped.
    return `${line}}\n`;
  };
}

/**
 * A formatter for people at a terminal: timestamp, level, logger, message,
 * then the record's properties as `key=value` (values as JSON), on one line.
 * Service, environment and version are left out; they do not change between
 * lines. Control characters and newlines in the message are escaped, so one
 * record is still one line. Built on LogTape's `getAnsiColorFormatter` (or
 * `getTextFormatter` without colours).
 *
 * @param options Service fields, the longest string written, and colours.
 * @returns A LogTape text formatter; each line ends with `"\n"`.
 * @throws {RangeError} If `maxFieldLength` is not a positive integer.
 *
 * @example Format a record without colours
 * ```ts
 * import assert from "node:assert/strict";
 * import { prettyFormatter } from "./format.ts";
 *
 * const format = prettyFormatter({
 *   service: "api",
 *   environment: "test",
 *   version: "1.0.0",
 *   colors: false,
 * });
 * const line = format({
 *   category: ["vigil", "http"],
 *   level: "warning",
 *   message: ["Slow request"],
 *   rawMessage: "Slow request",
 *   timestamp: 0,
 *   properties: { duration_ms: 1234 },
 * });
 * assert.equal(line, "1970-01-01 00:00:00.000 +00 WARNING vigil.http: Slow request duration_ms=1234\n");
 * ```
 */
export function prettyFormatter(options: PrettyFormatOptions): TextFormatter {
  const max = fieldLength(options.maxFieldLength);
  const textOptions: TextFormatterOptions = {
    timestamp: "date-time-tz",
    level: (level) => level.toUpperCase(),
    category: ".",
    value: "bare",
    sanitize: { newlines: "escape", sgr: "escape" },
    format: ({ timestamp, level, category, message, record }) => {
      const walk = newWalk(max);
      let line = `${timestamp === null ? "" : `${timestamp} `}${level} ${
        category === "" ? "" : `${category}: `
      }${truncate(message, max)}`;
      for (const key of Object.keys(record.properties)) {
        const json = toJson(record.properties[key], walk, 0);
        if (json === undefined) continue;
        line += ` ${/^[\w.-]+$/.test(key) ? key : quote(key, max)}=${json}`;
      }
      return UNSAFE_CHARS.test(line) ? escapeUnsafe(line) : line;
    },
  };
  return options.colors ?? true
    ? getAnsiColorFormatter(textOptions)
    : getTextFormatter(textOptions);
}

/**
 * Wraps a sink so that values under {@linkcode SECRET_FIELDS} keys are
 * replaced by {@linkcode REDACTED} before it sees a record: at any depth of
 * plain objects, inside arrays too, and in the message where a placeholder
 * names such a key. This is LogTape's `redactByField`. It does not look inside
 * `Map`s, `Set`s or errors (LogTape treats them as opaque), so keep secrets
 * out of those.
 *
 * `redactByField` copies every record (about 0.8 µs a record here, 1.9 µs with
 * one pattern per name), which alone would spend most of the 2 µs a line
 * allows. So the keys are checked first, each key's verdict kept (up to 4,096
 * keys), and a record with no secret key, no message values and nothing past
 * LogTape's traversal limits, for which `redactByField` would change nothing,
 * goes to the sink as it is.
 *
 * The returned sink passes on the wrapped sink's `drain()`,
 * `[Symbol.dispose]()` and `[Symbol.asyncDispose]()` when it has them.
 *
 * @param sink The sink to protect.
 * @returns A sink that redacts, then calls `sink`.
 *
 * @example Redact a header
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LogRecord } from "@logtape/logtape";
 * import { redactSecrets } from "./format.ts";
 *
 * const seen: LogRecord[] = [];
 * const sink = redactSecrets((record) => seen.push(record));
 * sink({
 *   category: ["app"],
 *   level: "info",
 *   message: ["Call"],
 *   rawMessage: "Call",
 *   timestamp: 0,
 *   properties: { headers: { Authorization: "Bearer abc" } },
 * });
 * assert.deepEqual(seen[0]?.properties, { headers: { Authorization: "[REDACTED]" } });
 * ```
 */
export function redactSecrets(sink: Sink): Sink {
  const redacting = redactByField(sink, {
    fieldPatterns: [...SECRET_FIELDS],
    action: () => REDACTED,
  });
  const wrapped: Sink & Partial<Drainable & Disposable & AsyncDisposable> = (
    record,
  ) => {
    const mayChange = record.message.length > 1 ||
      objectMayChange(record.properties, isSecretKey, 0, undefined);
    (mayChange ? redacting : sink)(record);
  };
  const inner = sink as
    & Sink
    & Partial<Drainable & Disposable & AsyncDisposable>;
  if (typeof inner.drain === "function") wrapped.drain = () => inner.drain!();
  if (typeof inner[Symbol.dispose] === "function") {
    wrapped[Symbol.dispose] = () => inner[Symbol.dispose]!();
  }
  if (typeof inner[Symbol.asyncDispose] === "function") {
    wrapped[Symbol.asyncDispose] = () => inner[Symbol.asyncDispose]!();
  }
  return wrapped;
}

/**
 * Wraps a text formatter so that credentials in URLs
 * ({@linkcode URL_SECRET_PATTERNS}) are masked in the formatted line, the
 * message text included. This is LogTape's `redactByPattern`.
 *
 * Scanning every line with both expressions costs about 0.45 µs, so a line
 * goes through `redactByPattern` only when it holds `@` or `=`, without
 * which neither pattern can match.
 *
 * @param formatter The formatter whose output is masked.
 * @returns A formatter that formats, then masks.
 *
 * @example Mask a password in a URL
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonFormatter, maskUrlSecrets } from "./format.ts";
 *
 * const format = maskUrlSecrets(
 *   jsonFormatter({ service: "api", environment: "test", version: "1" }),
 * );
 * const line = format({
 *   category: ["db"],
 *   level: "error",
 *   message: ["Cannot connect to postgres://app:hunter2@db:5432/main"],
 *   rawMessage: "Cannot connect to postgres://app:hunter2@db:5432/main",
 *   timestamp: 0,
 *   properties: {},
 * });
 * assert.ok(line.includes("postgres://[REDACTED]@db:5432/main"));
 * assert.ok(!line.includes("hunter2"));
 * ```
 */
export function maskUrlSecrets(formatter: TextFormatter): TextFormatter {
  // redactByPattern() wraps a formatter; it is handed one that returns the
  // line already formatted, so a line is formatted once. Without `@` or `=`
  // neither pattern can match, and one-character searches are cheap.
  let formatted = "";
  const mask = redactByPattern(() => formatted, URL_SECRET_PATTERNS);
  return (record) => {
    const line = formatter(record);
    if (!line.includes("@") && !line.includes("=")) return line;
    formatted = line;
    try {
      return mask(record);
    } finally {
      formatted = "";
    }
  };
}

// --- Internals ---------------------------------------------------------

function newWalk(max: number): Walk {
  return { max, left: MAX_RECORD_ENTRIES, stack: [], opaque: 0 };
}

/** Per-record state of the value writer. */
interface Walk {
  readonly max: number;
  /** Entries the record may still write. */
  left: number;
  /** The containers being written, outermost first: a cycle's test. */
  readonly stack: unknown[];
  /**
   * Containers being written that LogTape's redaction does not look into
   * (maps, sets, `toJSON()` results, class instances): inside one, keys are
   * checked here.
   */
  opaque: number;
}

function fieldLength(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_FIELD_LENGTH;
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Invalid log option "maxFieldLength": expected a positive integer, got ${value}`,
    );
  }
  return value;
}

/** ISO 8601 UTC with milliseconds, the part before them computed once a second. */
function isoTimestamps(): (time: number) => string {
  let second = NaN;
  let prefix = "";
  return (time) => {
    // Not a time Date can hold: the time of writing rather than a throw.
    const ms = time >= -MAX_TIME && time <= MAX_TIME
      ? Math.floor(time)
      : Date.now();
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      const iso = new Date(s * 1000).toISOString();
      prefix = iso.slice(0, -4);
      second = s;
    }
    const rest = ms - s * 1000;
    return `${prefix}${rest < 10 ? "00" : rest < 100 ? "0" : ""}${rest}Z`;
  };
}

const LEVELS: Readonly<Record<LogLevel, string>> = {
  trace: '"trace"',
  debug: '"debug"',
  info: '"info"',
  warning: '"warning"',
  error: '"error"',
  fatal: '"fatal"',
};

function levelJson(level: LogLevel): string {
  return LEVELS[level] ?? JSON.stringify(String(level));
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  // Not between the halves of a surrogate pair.
  const code = text.charCodeAt(max - 1);
  let end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  // Not inside a URL's authority either: `https://user:pa` has no `@` left
  // for maskUrlSecrets to find, so the URL goes from there on.
  const url = text.lastIndexOf("://", end - 1);
  if (url !== -1 && !AUTHORITY_END.test(text.slice(url + 3, end))) end = url;
  return `${text.slice(0, end)}…[truncated ${text.length - end} chars]`;
}

/** A JSON string; lone surrogates come out as `\ud800` escapes. */
function quote(text: string, max: number): string {
  if (text.length > max) return JSON.stringify(truncate(text, max));
  if (text.length > 64) return JSON.stringify(text);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) {
      return JSON.stringify(text);
    }
  }
  return `"${text}"`;
}

function numberJson(value: number): string {
  // JSON has no NaN or Infinity; their names are more use than null.
  return Number.isFinite(value) ? `${value}` : `"${value}"`;
}

function escapeUnsafe(line: string): string {
  return line.replace(
    UNSAFE_CHARS_ALL,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The message parts: strings as they are, other values as JSON (or text). */
function renderMessage(parts: readonly unknown[], walk: Walk): string {
  if (parts.length === 1 && typeof parts[0] === "string") return parts[0];
  let text = "";
  for (const part of parts) {
    if (typeof part === "string") text += part;
    else if (part !== null && typeof part === "object") {
      text += toJson(part, walk, 0) ?? "";
    } else if (typeof part === "function") {
      text += `[Function ${part.name || "anonymous"}]`;
    } else text += String(part);
  }
  return text;
}

/** A value as JSON text, or `undefined` to leave the key out. Never throws. */
function toJson(value: unknown, walk: Walk, depth: number): string | undefined {
  switch (typeof value) {
    case "string":
      return quote(value, walk.max);
    case "number":
      return numberJson(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return `"${value}"`;
    case "undefined":
      return undefined;
    case "symbol":
      return quote(value.toString(), walk.max);
    case "function":
      return quote(`[Function ${value.name || "anonymous"}]`, walk.max);
  }
  if (value === null) return "null";
  if (walk.stack.includes(value)) return '"[Circular]"';
  if (depth >= MAX_DEPTH) {
    return `"[Truncated: deeper than ${MAX_DEPTH} levels]"`;
  }
  walk.stack.push(value);
  try {
    return objectJson(value as object, walk, depth);
  } catch (error) {
    // A getter or proxy that throws: say so in the line, never in the caller.
    return quote(
      `[Unserializable: ${
        error instanceof Error ? error.message : String(error)
      }]`,
      walk.max,
    );
  } finally {
    walk.stack.pop();
  }
}

function objectJson(value: object, walk: Walk, depth: number): string {
  const inner = depth + 1;
  if (Array.isArray(value)) return arrayJson(value, value.length, walk, inner);
  const proto = Object.getPrototypeOf(value);
  if (
    (proto === Object.prototype || proto === null) &&
    typeof (value as { toJSON?: unknown }).toJSON !== "function"
  ) {
    return recordJson(value as Record<string, unknown>, walk, inner);
  }
  if (value instanceof Date) {
    return Number.isFinite(value.getTime())
      ? `"${value.toISOString()}"`
      : '"Invalid Date"';
  }
  if (value instanceof Error) return errorJson(value, walk, inner);
  // LogTape's redaction leaves the insides of these alone: their keys are
  // checked as they are written.
  walk.opaque++;
  try {
    return opaqueJson(value, walk, inner);
  } finally {
    walk.opaque--;
  }
}

/** A map, set, buffer or class instance as JSON. */
function opaqueJson(value: object, walk: Walk, inner: number): string {
  if (value instanceof Map) {
    // Keys as text (an object key as its JSON); keys alike in text merge.
    const record: Record<string, unknown> = Object.create(null);
    let size = 0;
    for (const [key, item] of value) {
      if (size++ >= MAX_ENTRIES) break;
      record[
        typeof key === "string"
          ? key
          : key !== null && typeof key === "object"
          ? toJson(key, walk, inner) ?? ""
          : String(key)
      ] = item;
    }
    return recordJson(record, walk, inner, value.size);
  }
  if (value instanceof Set) {
    const items: unknown[] = [];
    for (const item of value) {
      if (items.length >= MAX_ENTRIES) break;
      items.push(item);
    }
    return arrayJson(items, value.size, walk, inner);
  }
  if (ArrayBuffer.isView(value)) {
    if (value instanceof DataView) {
      return `"[DataView ${value.byteLength} bytes]"`;
    }
    const typed = value as unknown as ArrayLike<number | bigint>;
    return arrayJson(typed, typed.length, walk, inner);
  }
  if (
    value instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== "undefined" &&
      value instanceof SharedArrayBuffer)
  ) {
    return `"[${value.constructor.name} ${value.byteLength} bytes]"`;
  }
  if (value instanceof RegExp) return quote(String(value), walk.max);
  if (
    value instanceof Promise || value instanceof WeakMap ||
    value instanceof WeakSet
  ) {
    return `"[${value.constructor.name}]"`;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    return toJson(toJSON.call(value, ""), walk, inner) ?? "null";
  }
  return recordJson(value as Record<string, unknown>, walk, inner);
}

function arrayJson(
  items: ArrayLike<unknown>,
  size: number,
  walk: Walk,
  depth: number,
): string {
  let json = "[";
  let written = 0;
  for (; written < items.length && written < MAX_ENTRIES; written++) {
    if (walk.left-- <= 0) break;
    if (written > 0) json += ",";
    json += toJson(items[written], walk, depth) ?? "null";
  }
  if (written < size) {
    json += `${written > 0 ? "," : ""}"[Truncated: ${
      size - written
    } more items]"`;
  }
  return `${json}]`;
}

/** An object's own enumerable string keys, at most MAX_ENTRIES of them. */
function recordJson(
  record: Record<string, unknown>,
  walk: Walk,
  depth: number,
  size?: number,
): string {
  const keys = Object.keys(record);
  const total = size ?? keys.length;
  let json = "{";
  let written = 0;
  let first = true;
  for (; written < keys.length && written < MAX_ENTRIES; written++) {
    if (walk.left-- <= 0) break;
    const key = keys[written]!;
    const itemJson = walk.opaque > 0 && isSecretKey(key)
      ? `"${REDACTED}"`
      : toJson(record[key], walk, depth);
    if (itemJson === undefined) continue;
    json += `${first ? "" : ","}${quote(key, walk.max)}:${itemJson}`;
    first = false;
  }
  if (written < total) {
    json += `${first ? "" : ","}"…":"[Truncated: ${
      total - written
    } more keys]"`;
  }
  return `${json}}`;
}

function errorJson(error: Error, walk: Walk, depth: number): string {
  let json = `{"name":${quote(String(error.name), walk.max)},"message":${
    quote(String(error.message), walk.max)
  }`;
  if (typeof error.stack === "string") {
    json += `,"stack":${quote(error.stack, walk.max)}`;
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") {
    json += `,"code":${toJson(code, walk, depth)}`;
  }
  // Only an error or a primitive as the cause: LogTape's redaction does not
  // look inside errors, so an object hung on one (request options, headers)
  // would reach the line unredacted.
  const cause = error.cause;
  if (cause instanceof Error) {
    json += `,"cause":${toJson(cause, walk, depth)}`;
  } else if (
    cause !== undefined && (cause === null || typeof cause !== "object")
  ) {
    const causeJson = toJson(cause, walk, depth);
    if (causeJson !== undefined) json += `,"cause":${causeJson}`;
  }
  return `${json}}`;
}

const secretVerdicts = new Map<string, boolean>();

/**
 * Whether a key names a secret: one of {@linkcode SECRET_FIELDS} matches it
 * (answers for the first 4096 keys seen are kept).
 *
 * @param key A field name, such as `Authorization` or `db_password`.
 * @returns Whether its value is to be redacted.
 */
export function isSecretKey(key: string): boolean {
  let secret = secretVerdicts.get(key);
  if (secret === undefined) {
    secret = SECRET_FIELDS.some((pattern) => pattern.test(key));
    if (secretVerdicts.size < 4096) secretVerdicts.set(key, secret);
  }
  return secret;
}

/**
 * Whether `redactByField` could change this object: a secret key, or more
 * depth or entries than its traversal limits (20 levels, 1,000 entries), at
 * which it writes markers. Mirrors its traversal: plain objects and arrays,
 * not the built-ins it leaves alone.
 */
function objectMayChange(
  object: Record<string, unknown>,
  isSecret: (key: string) => boolean,
  depth: number,
  seen: Set<object> | undefined,
): boolean {
  const keys = Object.keys(object);
  if (keys.length > 1000) return true;
  for (const key of keys) {
    if (isSecret(key)) return true;
    const value = object[key];
    if (typeof value === "object" && value !== null) {
      seen ??= new Set([object]);
      if (valueMayChange(value, isSecret, depth + 1, seen)) return true;
    }
  }
  return false;
}

function valueMayChange(
  value: object,
  isSecret: (key: string) => boolean,
  depth: number,
  seen: Set<object>,
): boolean {
  // In redactByField's order: the depth is checked before the visited set.
  const proto = Object.getPrototypeOf(value);
  if (
    proto !== Object.prototype && proto !== Array.prototype && isOpaque(value)
  ) {
    return false;
  }
  if (depth > 20) return true;
  if (seen.has(value)) return false;
  seen.add(value);
  if (!Array.isArray(value)) {
    return objectMayChange(
      value as Record<string, unknown>,
      isSecret,
      depth,
      seen,
    );
  }
  if (value.length > 1000) return true;
  for (const item of value) {
    if (
      typeof item === "object" && item !== null &&
      valueMayChange(item, isSecret, depth + 1, seen)
    ) return true;
  }
  return false;
}

/** The objects `redactByField` passes through without looking inside. */
function isOpaque(value: object): boolean {
  return value instanceof Error || value instanceof Date ||
    value instanceof RegExp || value instanceof Map || value instanceof Set ||
    value instanceof WeakMap || value instanceof WeakSet ||
    value instanceof Promise || value instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== "undefined" &&
      value instanceof SharedArrayBuffer) ||
    ArrayBuffer.isView(value);
}
