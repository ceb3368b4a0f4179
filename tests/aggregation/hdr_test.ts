import assert from "node:assert/strict";
import fc from "fast-check";
import * as hdr from "hdr-histogram-js";
import {
  hdrHighest,
  hdrIndex,
  hdrValue,
  quantilesOf,
  SparseCounts,
} from "../../src/aggregation/hdr.ts";
import { BucketLookup } from "../../src/aggregation/lookup.ts";
import { ByteReader, ByteWriter } from "../../src/aggregation/codec.ts";
import { ByteArena } from "../../src/aggregation/arena.ts";

/** One arena for every test: blocks of earlier runs stay beside theirs. */
const arena = new ByteArena();

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

/** Quantiles in (0, 1], ascending, with the awkward ones of float math. */
const QUANTILES = [
  0.001,
  0.01,
  0.1,
  0.25,
  1 / 3,
  0.5,
  0.9,
  0.95,
  0.99,
  0.999,
  0.9999,
  1,
];

/** What hdr-histogram-js gives for each of {@linkcode QUANTILES}. */
function oracle(values: readonly number[]): number[] {
  const histogram = build();
  for (const value of values) histogram.recordValue(value);
  return QUANTILES.map((q) => histogram.getValueAtPercentile(q * 100));
}

function quantiles(sources: SparseCounts[]): number[] {
  const out = new Array<number>(QUANTILES.length);
  quantilesOf(sources, QUANTILES, out);
  return out;
}

Deno.test("SparseCounts gives hdr-histogram-js' percentiles, value for value", () => {
  fc.assert(
    fc.property(fc.array(units, { minLength: 1, maxLength: 400 }), (values) => {
      const counts = new SparseCounts(arena);
      for (const value of values) counts.add(hdrIndex(value));
      assert.equal(counts.total, values.length);
      for (let p = 1; p < counts.size; p++) {
        assert.ok(counts.keyAt(p - 1) < counts.keyAt(p), "keys ascend");
      }
      assert.deepEqual(quantiles([counts]), oracle(values));
    }),
    { numRuns: 500 },
  );
});

Deno.test("quantilesOf() over several SparseCounts equals one histogram of them all", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(units, { maxLength: 100 }), {
        minLength: 1,
        maxLength: 6,
      }).filter((slices) => slices.some((slice) => slice.length > 0)),
      (slices) => {
        const sources = slices.map((values) => {
          const counts = new SparseCounts(arena);
          for (const value of values) counts.add(hdrIndex(value));
          return counts;
        });
        assert.deepEqual(quantiles(sources), oracle(slices.flat()));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("SparseCounts switches to a dense window and back without changing a percentile or its encoding", () => {
  let dense = 0;
  let back = 0;
  // Clustered values (dense windows), then outliers far off (back to
  // sorted), then clustered values again.
  const cluster = fc.array(fc.integer({ min: 5000, max: 5600 }), {
    maxLength: 700,
    size: "max",
  });
  fc.assert(
    fc.property(
      fc.tuple(cluster, fc.array(units, { maxLength: 3 }), cluster)
        .map(([a, b, c]) => [...a, ...b, ...c])
        .filter((values) => values.length > 0),
      (values) => {
        const counts = new SparseCounts(arena);
        let wasDense = false;
        for (const value of values) {
          counts.add(hdrIndex(value));
          if (counts.dense) wasDense = true;
          else if (wasDense) back++;
        }
        if (wasDense) dense++;
        assert.equal(counts.total, values.length);
        assert.equal(counts.distinct, new Set(values.map(hdrIndex)).size);
        assert.deepEqual(quantiles([counts]), oracle(values));
        // The encoding lists the same indexes whatever the layout.
        const writer = new ByteWriter(1);
        counts.encode(writer);
        const decoded = new SparseCounts(arena);
        decoded.decode(new ByteReader(writer.finish()));
        assert.deepEqual(quantiles([decoded]), quantiles([counts]));
        assert.equal(decoded.distinct, counts.distinct);
        // Cleared, it counts afresh in the sorted layout.
        counts.clear();
        counts.add(7);
        assert.deepEqual(quantiles([counts]), oracle([7]));
      },
    ),
    { numRuns: 200 },
  );
  assert.ok(dense > 0, "some runs went dense");
  assert.ok(back > 0, "some outliers sent a dense window back");
});

Deno.test("quantilesOf() gives NaN for no values", () => {
  assert.deepEqual(quantiles([]), QUANTILES.map(() => NaN));
  assert.deepEqual(
    quantiles([new SparseCounts(arena)]),
    QUANTILES.map(() => NaN),
  );
});

const keysOf = (c: SparseCounts) =>
  Array.from({ length: c.size }, (_, p) => c.keyAt(p)).filter((_, p) =>
    c.countAt(p) > 0
  );
const countsOf = (c: SparseCounts) =>
  Array.from({ length: c.size }, (_, p) => c.countAt(p)).filter((n) => n > 0);

Deno.test("SparseCounts holds counts past 2^32 in 64-bit floats, and encodes and decodes them", () => {
  const counts = new SparseCounts(arena);
  counts.add(5, 2 ** 32 - 1);
  counts.add(7);
  const layout = (c: SparseCounts) => c.dense?.constructor.name ?? "sorted";
  assert.equal(layout(counts), "sorted");
  counts.add(5, 3);
  assert.equal(layout(counts), "Float64Array");
  assert.deepEqual(countsOf(counts), [2 ** 32 + 2, 1]);
  counts.add(3, 2 ** 40);
  assert.equal(counts.total, 2 ** 40 + 2 ** 32 + 3);
  const writer = new ByteWriter(4);
  counts.encode(writer);
  const decoded = new SparseCounts(arena);
  decoded.add(1000); // replaced, not added to
  decoded.decode(new ByteReader(writer.finish()));
  assert.deepEqual(keysOf(decoded), [3, 5, 7]);
  assert.deepEqual(countsOf(decoded), [2 ** 40, 2 ** 32 + 2, 1]);
  assert.equal(decoded.total, counts.total);
});

Deno.test("SparseCounts round-trips through its encoding, whatever it holds", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: hdrIndex(Number.MAX_SAFE_INTEGER) }),
          fc.integer({ min: 1, max: 2 ** 40 }),
        ),
        { maxLength: 200 },
      ),
      (entries) => {
        const counts = new SparseCounts(arena);
        for (const [index, count] of entries) counts.add(index, count);
        const writer = new ByteWriter(1);
        counts.encode(writer);
        const reader = new ByteReader(writer.finish());
        const decoded = new SparseCounts(arena);
        decoded.decode(reader);
        assert.ok(reader.done);
        assert.equal(decoded.size, counts.size);
        assert.equal(decoded.total, counts.total);
        assert.deepEqual(keysOf(decoded), keysOf(counts));
        assert.deepEqual(countsOf(decoded), countsOf(counts));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("Every HDR index fits the 16 bits SparseCounts keeps", () => {
  assert.equal(hdrIndex(Number.MAX_SAFE_INTEGER), 45055);
  assert.ok(hdrIndex(Number.MAX_SAFE_INTEGER) < 2 ** 16);
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
