/**
 * Helpers to test your instrumentation without regular expressions over
 * `/metrics`, as client_golang's `testutil` has them: read one sample's
 * value, compare a registry's output with the text you expect (ignoring
 * order), and check that an exposition parses.
 *
 * @example Test a counter
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { assertMetrics, sampleValue } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const jobs = registry.counter({ name: "jobs_total", help: "Jobs done", labelNames: ["queue"] });
 * jobs.labels({ queue: "emails" }).inc(2);
 * jobs.labels({ queue: "sms" }).inc();
 *
 * assert.equal(await sampleValue(registry, "jobs_total", { queue: "emails" }), 2);
 * await assertMetrics(registry, `
 *   # HELP jobs_total Jobs done
 *   # TYPE jobs_total counter
 *   jobs_total{queue="sms"} 1
 *   jobs_total{queue="emails"} 2
 * `);
 * await registry.close();
 * ```
 *
 * @module
 */
import { AssertionError } from "node:assert";
import { parsePushText, type PushFamily } from "./ingest/push_text.ts";

/** Anything with Prometheus text from `metrics()`, such as a `Registry`. */
export interface MetricsSource {
  /** The exposition, Prometheus text format 0.0.4. */
  metrics(): Promise<string>;
}

/** A parsed metric family: see {@linkcode parseExposition}. */
export type ParsedFamily = PushFamily;

/** Options of {@linkcode parseExposition}. */
export interface ParseExpositionOptions {
  /**
   * Accept and drop a timestamp after each value.
   * @default {false}
   */
  readonly dropTimestamps?: boolean;
  /**
   * Keep families that have HELP or TYPE lines but no sample.
   * @default {false}
   */
  readonly keepEmptyFamilies?: boolean;
}

/**
 * Parses Prometheus text format 0.0.4 as Prometheus reads it: `# HELP`
 * and `# TYPE` lines, samples with escaped label values, `+Inf`, `-Inf`
 * and `NaN`. A family's samples must be together, and no series twice.
 * Timestamps are refused unless `dropTimestamps`: Vigil never writes them.
 *
 * @param text The exposition.
 * @param options Whether timestamps and families without samples are kept.
 * @returns The families, in order.
 * @throws {TypeError} A `PushTextError` naming the line and the reason.
 *
 * @example Parse an exposition
 * ```ts
 * import { parseExposition } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const [family] = parseExposition("# TYPE up gauge\nup 1\n");
 * assert.equal(family!.type, "gauge");
 * assert.equal(family!.samples[0]!.value, 1);
 * assert.throws(() => parseExposition("up{a=1} 1\n"), /line 1/);
 * ```
 */
export function parseExposition(
  text: string,
  options: ParseExpositionOptions = {},
): ParsedFamily[] {
  return parsePushText(text, {
    dropTimestamps: options.dropTimestamps ?? false,
    keepEmptyFamilies: options.keepEmptyFamilies ?? false,
    maxSeries: Number.MAX_SAFE_INTEGER,
    maxLineLength: Number.MAX_SAFE_INTEGER,
    maxLabelPairs: Number.MAX_SAFE_INTEGER,
    maxLabelValueLength: Number.MAX_SAFE_INTEGER,
    maxHelpLength: Number.MAX_SAFE_INTEGER,
  });
}

async function textOf(source: MetricsSource | string): Promise<string> {
  return typeof source === "string" ? source : await source.metrics();
}

/**
 * A sample's identity: its name and its labels sorted by name, an `le` or
 * `quantile` as a number (`0.25` and `0.250`, `1` and `1.0` are one bound).
 */
function seriesKey(
  name: string,
  labelNames: readonly string[],
  labelValues: readonly string[],
): string {
  const pairs = labelNames.map((label, i) => {
    const value = labelValues[i] ?? "";
    const bound = (label === "le" || label === "quantile") &&
      !Number.isNaN(Number(value));
    return `${label}=${JSON.stringify(bound ? String(Number(value)) : value)}`;
  }).sort();
  return `${name}{${pairs.join(",")}}`;
}

/**
 * The value of one sample: the one named `name` whose labels are exactly
 * `labels` (`le` or `quantile` included for a bucket or quantile).
 *
 * @param source A registry, or exposition text.
 * @param name The sample's name, e.g. `jobs_total` or `latency_seconds_count`.
 * @param labels Its labels, all of them.
 * @returns The value, or `undefined` when no such sample exists.
 * @throws {TypeError} When the exposition does not parse.
 *
 * @example Read a histogram's count
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { sampleValue } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * registry.histogram({ name: "work_seconds", help: "Work" }).observe(0.2);
 * assert.equal(await sampleValue(registry, "work_seconds_count"), 1);
 * assert.equal(await sampleValue(registry, "work_seconds_bucket", { le: "0.25" }), 1);
 * assert.equal(await sampleValue(registry, "missing_total"), undefined);
 * await registry.close();
 * ```
 */
export async function sampleValue(
  source: MetricsSource | string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number | undefined> {
  const wanted = seriesKey(name, Object.keys(labels), Object.values(labels));
  const text = await textOf(source);
  for (const family of parseExposition(text, { dropTimestamps: true })) {
    for (const sample of family.samples) {
      if (
        sample.name === name &&
        seriesKey(name, sample.labelNames, sample.labelValues) === wanted
      ) {
        return sample.value;
      }
    }
  }
  return undefined;
}

/**
 * Asserts that a registry exposes the families of `expected` exactly: for
 * each family the expected text names, the same HELP, TYPE and samples
 * (by name and labels, in any order, bounds compared as numbers). Families
 * the expected text does not name are not compared, so a test states only
 * the metrics it is about.
 *
 * @param source A registry, or exposition text.
 * @param expected Prometheus text; indentation and blank lines are ignored.
 * @returns Resolves when they match.
 * @throws {AssertionError} Listing every missing, unexpected or different
 * sample, and any HELP or TYPE that differs.
 *
 * @example Compare a gauge, whatever else is registered
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { assertMetrics } from "@vigil/observe/testing";
 *
 * const registry = new Registry();
 * registry.gauge({ name: "queue_depth", help: "Jobs waiting" }).set(7);
 * await assertMetrics(registry, `
 *   # HELP queue_depth Jobs waiting
 *   # TYPE queue_depth gauge
 *   queue_depth 7
 * `);
 * await registry.close();
 * ```
 */
export async function assertMetrics(
  source: MetricsSource | string,
  expected: string,
): Promise<void> {
  const want = parseExposition(
    expected.split("\n").map((line) => line.trim()).filter((line) =>
      line !== ""
    ).join("\n") + "\n",
    { dropTimestamps: true, keepEmptyFamilies: true },
  );
  if (want.length === 0) {
    throw new TypeError(
      "Cannot compare metrics: the expected text names no family",
    );
  }
  const have = new Map(
    parseExposition(await textOf(source), {
      dropTimestamps: true,
      keepEmptyFamilies: true,
    }).map((f) => [f.name, f]),
  );
  const problems: string[] = [];
  for (const family of want) {
    const actual = have.get(family.name);
    if (actual === undefined) {
      problems.push(`family ${family.name}: not exposed`);
      continue;
    }
    if (actual.type !== family.type) {
      problems.push(
        `family ${family.name}: TYPE ${actual.type}, expected ${family.type}`,
      );
    }
    if (family.help !== undefined && actual.help !== family.help) {
      problems.push(
        `family ${family.name}: HELP ${JSON.stringify(actual.help)}, expected ${
          JSON.stringify(family.help)
        }`,
      );
    }
    const values = (f: PushFamily) => {
      const map = new Map<string, number>();
      for (const s of f.samples) {
        const key = seriesKey(s.name, s.labelNames, s.labelValues);
        if (map.has(key)) problems.push(`${key} is given twice`);
        map.set(key, s.value);
      }
      return map;
    };
    const got = values(actual);
    for (const [key, value] of values(family)) {
      const found = got.get(key);
      if (found === undefined) problems.push(`missing ${key} ${value}`);
      else if (!Object.is(found, value) && found !== value) {
        problems.push(`${key}: ${found}, expected ${value}`);
      }
      got.delete(key);
    }
    for (const [key, value] of got) problems.push(`unexpected ${key} ${value}`);
  }
  if (problems.length > 0) {
    throw new AssertionError({
      message: `The metrics differ from the expected text:\n  ${
        problems.join("\n  ")
      }`,
    });
  }
}

/**
 * Asserts that a registry's exposition parses as Prometheus text 0.0.4:
 * families together, no series twice, label values escaped.
 *
 * @param source A registry, or exposition text.
 * @returns The parsed families, for further checks.
 * @throws {AssertionError} Naming the line and the reason.
 *
 * @example Check a registry's output
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { assertExpositionParses } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * registry.counter({ name: "quotes_total", help: 'Say "hi"\ntwice' }).inc();
 * const families = await assertExpositionParses(registry);
 * assert.ok(families.some((f) => f.name === "quotes_total"));
 * await registry.close();
 * ```
 */
export async function assertExpositionParses(
  source: MetricsSource | string,
): Promise<ParsedFamily[]> {
  try {
    return parseExposition(await textOf(source));
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new AssertionError({
      message: `The exposition does not parse: ${error.message}`,
    });
  }
}
