/**
 * The grouping key of a Pushgateway URL: the path after `/metrics/`,
 * `job/<job>{/<label>/<value>}`, following prometheus/pushgateway's
 * README ("URL") and `handler/push.go`:
 *
 * - every segment is percent-decoded first (`+` stays `+`, as in a URL
 *   path), label names and base64 values too, as Go's `URL.Path` gives
 *   them to Pushgateway;
 * - a name suffixed `@base64` (also `job@base64`) marks its value as base64
 *   with the URL-safe alphabet (RFC 4648 §5); trailing `=` padding is
 *   ignored, so a single `=` encodes the empty value;
 * - a label with an empty value is no label (as Prometheus treats it), so
 *   `job/a/x@base64/=` is the group `job/a`;
 * - the job must not be empty; label names follow the Prometheus rule.
 *
 * Deliberate differences from Pushgateway, all refusing what it silently
 * rewrites: a repeated label, or `job` among the labels, is an error (it
 * keeps the last); `le`, `quantile` and `__`-prefixed names are refused
 * (grouping labels override body labels, which would corrupt histograms and
 * summaries); an empty plain segment is an error (its router would drop
 * the `//` and shift the pairs); segments are split before percent-decoding,
 * so `%2F` is a `/` inside a value rather than a separator; a decoded value
 * must be valid UTF-8. One trailing `/` is ignored.
 *
 * @module
 */
import { labelNameProblem } from "../base/_validation.ts";
import { renderPairs } from "../base/_text.ts";

/** A parsed grouping key. */
export interface GroupingKey {
  /** The `job` label's value. */
  readonly job: string;
  /** Label names, `job` included, sorted; empty values are left out. */
  readonly labelNames: readonly string[];
  /** Label values, parallel to `labelNames`. */
  readonly labelValues: readonly string[];
  /**
   * A canonical string for maps: `name="value"` pairs sorted by name, with
   * exposition escaping, so equal label sets give equal keys.
   */
  readonly key: string;
}

/** A grouping path that cannot be parsed; the message names the segment. */
export class GroupingKeyError extends TypeError {
  /** The 1-based segment of the path at fault (0 for the whole path). */
  readonly segment: number;
  /** What is wrong, without the segment prefix. */
  readonly reason: string;

  /**
   * Creates the error.
   *
   * @param segment The 1-based segment at fault, 0 for the whole path.
   * @param text The segment as sent.
   * @param reason What is wrong with it.
   * @param options The underlying error, if any.
   */
  constructor(
    segment: number,
    text: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(
      segment === 0
        ? `Cannot parse grouping key: ${reason}`
        : `Cannot parse grouping key segment ${segment} ${
          JSON.stringify(text)
        }: ${reason}`,
      options,
    );
    this.name = "GroupingKeyError";
    this.segment = segment;
    this.reason = reason;
  }
}

const BASE64_SUFFIX = "@base64";
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Decodes unpadded base64url; undefined when malformed. */
function decodeBase64Url(text: string): Uint8Array | undefined {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  const body = text.slice(0, end);
  if (!BASE64URL.test(body) || body.length % 4 === 1) return undefined;
  const standard = body.replaceAll("-", "+").replaceAll("_", "/");
  const binary = atob(standard + "=".repeat((4 - standard.length % 4) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function percentDecode(segment: number, text: string): string {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    if (!(error instanceof URIError)) throw error;
    throw new GroupingKeyError(
      segment,
      text,
      "malformed percent-encoding",
      { cause: error },
    );
  }
}

function decodeValue(
  segment: number,
  text: string,
  base64: boolean,
): string {
  if (base64) {
    const bytes = decodeBase64Url(percentDecode(segment, text));
    if (bytes === undefined) {
      throw new GroupingKeyError(
        segment,
        text,
        "the value is not base64url (RFC 4648 §5)",
      );
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      throw new GroupingKeyError(
        segment,
        text,
        "the decoded value is not valid UTF-8",
        { cause: error },
      );
    }
  }
  if (text === "") {
    throw new GroupingKeyError(
      segment,
      text,
      'an empty value must be written as "<name>@base64/="',
    );
  }
  return percentDecode(segment, text);
}

/**
 * Parses the Pushgateway grouping path, the part of the URL path after
 * `/metrics/` (raw, still percent-encoded, as `new URL(url).pathname`
 * gives it).
 *
 * @param path `job/<job>{/<label>/<value>}`, without a leading `/`.
 * @returns The grouping key with labels sorted and a canonical string.
 * @throws {GroupingKeyError} Naming the 1-based segment and the reason.
 *
 * @example Plain, percent-encoded and base64 segments
 * ```ts
 * import { parseGroupingPath } from "./grouping.ts";
 * import assert from "node:assert/strict";
 *
 * const group = parseGroupingPath(
 *   "job/backup/path@base64/L3Zhci90bXA/name/%CE%A0",
 * );
 * assert.equal(group.job, "backup");
 * assert.deepEqual(group.labelNames, ["job", "name", "path"]);
 * assert.deepEqual(group.labelValues, ["backup", "Π", "/var/tmp"]);
 * assert.equal(group.key, 'job="backup",name="Π",path="/var/tmp"');
 * assert.throws(() => parseGroupingPath("job/"), /segment 2/);
 * ```
 */
export function parseGroupingPath(path: string): GroupingKey {
  if (typeof path !== "string") {
    throw new GroupingKeyError(0, "", "the path must be a string");
  }
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path;
  const segments = trimmed.split("/");
  if (segments[0] !== "job" && segments[0] !== "job" + BASE64_SUFFIX) {
    throw new GroupingKeyError(
      1,
      segments[0]!,
      'the path must start with "job" or "job@base64"',
    );
  }
  if (segments.length === 1) {
    throw new GroupingKeyError(2, "", "the job must not be empty");
  }
  if (segments.length % 2 !== 0) {
    const last = segments.length;
    throw new GroupingKeyError(
      last,
      segments[last - 1]!,
      "the label has no value",
    );
  }
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  for (let i = 0; i < segments.length; i += 2) {
    const rawName = segments[i]!;
    const decoded = i === 0 ? rawName : percentDecode(i + 1, rawName);
    const base64 = decoded.endsWith(BASE64_SUFFIX);
    const name = base64 ? decoded.slice(0, -BASE64_SUFFIX.length) : decoded;
    if (i > 0) {
      const problem = labelNameProblem(name);
      if (problem !== undefined) {
        throw new GroupingKeyError(i + 1, rawName, problem);
      }
      if (name === "job") {
        throw new GroupingKeyError(
          i + 1,
          rawName,
          "the job label is given by the first pair only",
        );
      }
      if (seen.has(name)) {
        throw new GroupingKeyError(
          i + 1,
          rawName,
          `label "${name}" is given twice`,
        );
      }
    }
    seen.add(name);
    const value = decodeValue(i + 2, segments[i + 1]!, base64);
    if (i === 0 && value === "") {
      throw new GroupingKeyError(2, segments[1]!, "the job must not be empty");
    }
    if (value !== "") pairs.push([name, value]);
  }
  const job = pairs[0]![1];
  pairs.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  const labelNames = pairs.map((pair) => pair[0]);
  const labelValues = pairs.map((pair) => pair[1]);
  return Object.freeze({
    job,
    labelNames: Object.freeze(labelNames),
    labelValues: Object.freeze(labelValues),
    key: renderPairs(labelNames, labelValues),
  });
}
