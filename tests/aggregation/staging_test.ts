import assert from "node:assert/strict";
import fc from "fast-check";
import * as hdr from "hdr-histogram-js";
import {
  BucketLookup,
  hdrHighest,
  hdrIndex,
  hdrValue,
  StagedCounts,
} from "../../src/aggregation/staging.ts";

const build = () =>
  hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2,
    numberOfSignificantValueDigits: 3,
  });

/** Whole numbers from 0 to 2^53, spread over every magnitude. */
const units = fc.oneof(
  fc.integer({ min: 0, max: 5000 }),
  fc.integer({ min: 0, max: 2 ** 31 + 5000 }),
  fc.double({ min: 0, max: 2 ** 53 - 1, noNaN: true }).map(Math.floor),
  fc.integer({ min: 1, max: 52 }).map((k) => 2 ** k),
  fc.integer({ min: 1, max: 53 }).map((k) => 2 ** k - 1),
);

Deno.test("hdrIndex() and hdrValue() agree with hdr-histogram-js on every magnitude", () => {
  fc.assert(
    fc.property(units, (value) => {
      const index = hdrIndex(value);
      assert.ok(hdrValue(index) <= value && value <= hdrHighest(index));
      assert.equal(hdrIndex(hdrValue(index)), index);
      assert.equal(hdrIndex(hdrHighest(index)), index);
      // hdr-histogram-js puts the value at the same index.
      const histogram = build() as unknown as {
        recordValue(value: number): void;
        countsArrayIndex(value: number): number;
      };
      histogram.recordValue(value);
      assert.equal(histogram.countsArrayIndex(value), index);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("StagedCounts gives hdr-histogram-js the same histogram as recording each value", () => {
  fc.assert(
    fc.property(fc.array(units, { minLength: 1, maxLength: 300 }), (values) => {
      const direct = build();
      const staged = build();
      const counts = new StagedCounts();
      values.forEach((value, i) => {
        direct.recordValue(value);
        counts.add(hdrIndex(value));
        if (i % 97 === 0) counts.flushInto(staged); // flushing midway changes nothing
      });
      counts.flushInto(staged);
      assert.equal(staged.totalCount, direct.totalCount);
      // Percentiles are bucket edges, so they agree exactly; min and max
      // differ (staging knows only buckets) and Vigil keeps those itself.
      for (const percentile of [1, 10, 50, 90, 99, 99.9]) {
        assert.equal(
          staged.getValueAtPercentile(percentile),
          direct.getValueAtPercentile(percentile),
        );
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("BucketLookup finds the bucket a comparison with the bounds finds", () => {
  const bounds = fc.uniqueArray(fc.double({ min: 0, max: 1e4, noNaN: true }), {
    minLength: 1,
    maxLength: 20,
  }).map((values) => values.sort((a, b) => a - b));
  const resolutions = fc.constantFrom(1e-6, 1e-3, 1e-4, 0.5, 1, 3);
  fc.assert(
    fc.property(
      bounds,
      resolutions,
      fc.array(fc.double({ min: 0, max: 2e4, noNaN: true })),
      (b, resolution, values) => {
        const perUnit = 1 / resolution;
        const lookup = new BucketLookup(b, perUnit);
        // Values on and next to each bound, where rounding could mislead.
        const probes = [
          ...values,
          ...b.flatMap((
            x,
          ) => [x, x * (1 + 1e-12), x * (1 - 1e-12), x + resolution / 2]),
        ];
        for (const value of probes) {
          if (!(value >= 0)) continue;
          const unitsOf = Math.min(
            Math.round(value * perUnit),
            Number.MAX_SAFE_INTEGER,
          );
          assert.equal(
            lookup.bucket(value, hdrIndex(unitsOf)),
            lookup.search(value),
            `value ${value}`,
          );
        }
      },
    ),
    { numRuns: 300 },
  );
});
