// Negative observations and negative bucket bounds in both exposition
// formats, checked by the Python OpenMetrics parser and promtool on what a
// Registry renders.
import assert from "node:assert/strict";
import fc from "fast-check";
import { Registry } from "../../src/metrics/mod.ts";
import {
  ignoreWithoutPromtool,
  ignoreWithoutPython,
  type ParsedSample,
  parseOpenMetrics,
  promtoolCheck,
  recordingLogger,
} from "../_tools.ts";

const noPromtool = await ignoreWithoutPromtool();
const noPython = await ignoreWithoutPython();

/** A registry with one worker, and the metrics these tests observe into. */
function negativeRegistry(): Registry {
  const registry = new Registry({
    logger: recordingLogger(),
    aggregation: { workers: 1 },
  });
  const latency = registry.histogram({
    name: "latency_seconds",
    help: "Latency",
    labelNames: ["case"],
    buckets: [0, 0.5, 1],
  });
  latency.labels({ case: "positive" }).observe(0.25);
  latency.labels({ case: "positive" }).observe(2);
  latency.labels({ case: "mixed" }).observe(-1);
  latency.labels({ case: "mixed" }).observe(3);
  latency.labels({ case: "negative" }).observe(-1.5);
  latency.labels({ case: "empty" });
  const temperature = registry.histogram({
    name: "temperature_celsius",
    help: "Temperature",
    labelNames: ["case"],
    buckets: [-10, 0, 10],
  });
  temperature.labels({ case: "positive" }).observe(5);
  temperature.labels({ case: "mixed" }).observe(-5);
  temperature.labels({ case: "mixed" }).observe(15);
  temperature.labels({ case: "empty" });
  const offset = registry.summary({
    name: "offset_seconds",
    help: "Offset",
    labelNames: ["case"],
    quantiles: [0.5, 0.99],
  });
  offset.labels({ case: "positive" }).observe(1);
  offset.labels({ case: "mixed" }).observe(-2);
  offset.labels({ case: "mixed" }).observe(4);
  offset.labels({ case: "negative" }).observe(-2);
  offset.labels({ case: "negative" }).observe(-3);
  return registry;
}

/** The samples of one series of a parsed family, by sample name and `le`/`quantile`. */
function series(
  samples: readonly ParsedSample[],
  label: string,
): Map<string, number | string> {
  return new Map(
    samples.filter((s) => s.labels.case === label).map((s) => [
      s.name + (s.labels.le ?? s.labels.quantile ?? ""),
      s.value,
    ]),
  );
}

/**
 * promtool 2.42 reads only the 0.0.4 format. Reading OpenMetrics, it takes
 * `_total` and `_created` samples for families without HELP; anything else
 * it reports, or failing to parse, is a real problem.
 */
async function assertPromtoolReadsOpenMetrics(text: string): Promise<void> {
  const result = await promtoolCheck(text);
  const problems = (result.stdout + result.stderr).split("\n").filter((line) =>
    line !== "" && !/^\w+_(created|total) no help text$/.test(line)
  );
  assert.ok(result.code === 0 || result.code === 3, result.stderr);
  assert.deepEqual(problems, []);
}

Deno.test({
  name:
    "OpenMetrics leaves _sum and _count out after a negative observation or with a negative bound, and the parser accepts it",
  ignore: noPython,
  fn: async () => {
    const registry = negativeRegistry();
    try {
      const families = await parseOpenMetrics(
        await registry.metrics({ format: "openmetrics" }),
      );
      const samples = (name: string) =>
        families.find((f) => f.name === name)?.samples ?? [];

      const latency = samples("latency_seconds");
      const positive = series(latency, "positive");
      assert.equal(positive.get("latency_seconds_count"), 2);
      assert.equal(positive.get("latency_seconds_sum"), 2.25);
      assert.equal(positive.get("latency_seconds_bucket+Inf"), 2);
      const empty = series(latency, "empty");
      assert.equal(empty.get("latency_seconds_count"), 0);
      assert.equal(empty.get("latency_seconds_sum"), 0);
      for (const [label, count] of [["mixed", 2], ["negative", 1]] as const) {
        const samples = series(latency, label);
        assert.equal(samples.has("latency_seconds_sum"), false, label);
        assert.equal(samples.has("latency_seconds_count"), false, label);
        assert.equal(samples.get("latency_seconds_bucket+Inf"), count, label);
        assert.equal(samples.get("latency_seconds_bucket0.0"), 1, label);
        assert.ok(samples.has("latency_seconds_created"), label);
      }

      // A negative bound: no series has a sum, even without negative values.
      const temperature = samples("temperature_celsius");
      for (
        const [label, count] of [["positive", 1], ["mixed", 2], [
          "empty",
          0,
        ]] as const
      ) {
        const samples = series(temperature, label);
        assert.equal(samples.has("temperature_celsius_sum"), false, label);
        assert.equal(samples.has("temperature_celsius_count"), false, label);
        assert.equal(
          samples.get("temperature_celsius_bucket+Inf"),
          count,
          label,
        );
      }
      assert.equal(
        series(temperature, "mixed").get("temperature_celsius_bucket-10.0"),
        0,
      );

      const offset = samples("offset_seconds");
      const summaryPositive = series(offset, "positive");
      assert.equal(summaryPositive.get("offset_seconds_count"), 1);
      assert.equal(summaryPositive.get("offset_seconds_sum"), 1);
      const mixed = series(offset, "mixed");
      assert.equal(mixed.has("offset_seconds_sum"), false);
      assert.equal(mixed.has("offset_seconds_count"), false);
      // HDR counts -2 as zero: the median of [0, 4] is 0, not negative.
      assert.equal(mixed.get("offset_seconds0.5"), 0);
      assert.equal(mixed.get("offset_seconds0.99"), 4);
      // Only negative values: a quantile OpenMetrics cannot carry is NaN.
      const negative = series(offset, "negative");
      assert.equal(negative.get("offset_seconds0.5"), "NaN");
      assert.equal(negative.has("offset_seconds_count"), false);
    } finally {
      await registry.close();
    }
  },
});

Deno.test({
  name:
    "Prometheus 0.0.4 keeps _sum and _count with negative values, and promtool accepts both formats",
  ignore: noPromtool,
  fn: async () => {
    const registry = negativeRegistry();
    try {
      const text = await registry.metrics();
      const result = await promtoolCheck(text);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(result.stdout + result.stderr, "");
      assert.match(text, /^latency_seconds_sum\{case="mixed"\} 2$/m);
      assert.match(text, /^latency_seconds_count\{case="mixed"\} 2$/m);
      assert.match(text, /^temperature_celsius_sum\{case="mixed"\} 10$/m);
      assert.match(text, /^temperature_celsius_count\{case="mixed"\} 2$/m);
      assert.match(text, /^offset_seconds_sum\{case="negative"\} -5$/m);
      assert.match(
        text,
        /^offset_seconds\{case="negative",quantile="0.5"\} -2$/m,
      );
      await assertPromtoolReadsOpenMetrics(
        await registry.metrics({ format: "openmetrics" }),
      );
    } finally {
      await registry.close();
    }
  },
});

Deno.test({
  name:
    "Any observations and any bounds give OpenMetrics the parser accepts, with +Inf equal to _count",
  ignore: noPython,
  fn: async () => {
    const value = fc.oneof(
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.constantFrom(0, -0, 1e-7, -1e-7),
    );
    const bounds = fc.uniqueArray(
      fc.integer({ min: -1000, max: 1000 }).map((n) => n / 8),
      { minLength: 1, maxLength: 6 },
    ).map((list) => list.sort((a, b) => a - b));
    await fc.assert(
      fc.asyncProperty(
        bounds,
        fc.array(fc.array(value, { maxLength: 8 }), {
          minLength: 1,
          maxLength: 4,
        }),
        async (buckets, perSeries) => {
          const registry = new Registry({
            logger: recordingLogger(),
            aggregation: { workers: 1 },
          });
          try {
            const histogram = registry.histogram({
              name: "property",
              help: "p",
              labelNames: ["series"],
              buckets,
            });
            const summary = registry.summary({
              name: "property_summary",
              help: "p",
              labelNames: ["series"],
            });
            perSeries.forEach((values, i) => {
              histogram.labels({ series: i });
              summary.labels({ series: i });
              for (const v of values) {
                histogram.labels({ series: i }).observe(v);
                summary.labels({ series: i }).observe(v);
              }
            });
            const families = await parseOpenMetrics(
              await registry.metrics({ format: "openmetrics" }),
            );
            const samples = families.find((f) => f.name === "property")!
              .samples;
            perSeries.forEach((values, i) => {
              const own = samples.filter((s) => s.labels.series === `${i}`);
              const inf = own.find((s) => s.labels.le === "+Inf")?.value;
              assert.equal(inf, values.length);
              const count = own.find((s) => s.name === "property_count");
              const withSum = buckets[0]! >= 0 && values.every((v) => v >= 0);
              assert.equal(count?.value, withSum ? values.length : undefined);
            });
          } finally {
            await registry.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  },
});
