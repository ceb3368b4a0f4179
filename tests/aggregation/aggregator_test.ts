import assert from "node:assert/strict";
import { Aggregator } from "../../src/aggregation/aggregator.ts";
import { snapshotRecords } from "./_records.ts";
import {
  type FamilyDefinition,
  GENERATION,
} from "../../src/aggregation/protocol.ts";
import { DEFAULT_BUCKETS } from "../../src/metrics/buckets.ts";
import { bimodal, exactQuantile, logNormal } from "../_random.ts";

const HISTOGRAM: FamilyDefinition = {
  id: 0,
  kind: "histogram",
  name: "latency_seconds",
  buckets: DEFAULT_BUCKETS,
  quantiles: [],
  maxAgeMs: 0,
  ageBuckets: 0,
  resolution: 1e-6,
};

const SUMMARY: FamilyDefinition = {
  id: 1,
  kind: "summary",
  name: "confidence",
  buckets: [],
  quantiles: [0.5, 0.9],
  maxAgeMs: 10_000,
  ageBuckets: 5,
  resolution: 1e-6,
};

/** HDR reports the top of a value's bucket: at most 0.1% above it. */
function assertNear(actual: number, expected: number): void {
  assert.ok(
    Math.abs(actual - expected) <= expected * 0.001,
    `${actual} is not within 0.1% of ${expected}`,
  );
}

/** An aggregator with one histogram series (id 0) and one summary series (id 1). */
function aggregator(now = 0): Aggregator {
  const a = new Aggregator();
  a.defineFamily(HISTOGRAM);
  a.defineFamily(SUMMARY);
  a.defineSeries({ id: 0, family: 0, pairs: 'route="/a"', created: 1 }, now);
  a.defineSeries({ id: 1, family: 1, pairs: "", created: 2 }, now);
  return a;
}

/** Each family's text from a render. */
function texts(
  { bytes, ends }: { bytes: Uint8Array; ends: readonly number[] },
): string[] {
  return ends.map((end, i) =>
    new TextDecoder().decode(bytes.subarray(i === 0 ? 0 : ends[i - 1], end))
  );
}

/** Feeds values to one series as [id, value] pairs, as a batch would. */
function feed(
  a: Aggregator,
  id: number,
  values: ArrayLike<number>,
  now = 0,
): void {
  const batch = new Float64Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    batch[2 * i] = id;
    batch[2 * i + 1] = values[i]!;
  }
  a.apply(batch, 0, batch.length, now);
}

Deno.test("Aggregator: a value equal to a bucket bound lands in that bucket", () => {
  const a = aggregator();
  try {
    feed(a, 0, [0.005, 0.0050001, 0.1, 10, 10.5, -1]);
    const [text] = texts(a.render([0], "prometheus", 0));
    const bucket = (le: string) =>
      Number(new RegExp(`le="${le}"\\} (\\S+)`).exec(text!)?.[1]);
    assert.equal(bucket("0.005"), 2); // -1 and 0.005
    assert.equal(bucket("0.01"), 3);
    assert.equal(bucket("0.1"), 4);
    assert.equal(bucket("10.0"), 5);
    assert.equal(bucket("\\+Inf"), 6);
    assert.match(text!, /^latency_seconds_count\{route="\/a"\} 6$/m);
  } finally {
    a.close();
  }
});

Deno.test("Aggregator: percentiles are within 0.1% of the exact ones", async (t) => {
  const datasets: [string, Float64Array][] = [
    ["log-normal", logNormal(200_000, -3, 1, 7)],
    ["bimodal", bimodal(200_000, 0.7, 11)],
  ];
  for (const [title, values] of datasets) {
    await t.step(title, () => {
      const a = aggregator();
      try {
        feed(a, 0, values);
        const stats = a.stats(0, 0)!;
        const sorted = values.slice().sort();
        assert.equal(stats.count, values.length);
        assert.equal(stats.min, sorted[0]);
        assert.equal(stats.max, sorted.at(-1));
        const quantiles: [keyof typeof stats, number][] = [
          ["p50", 0.5],
          ["p90", 0.9],
          ["p95", 0.95],
          ["p99", 0.99],
          ["p999", 0.999],
        ];
        for (const [key, q] of quantiles) {
          const exact = exactQuantile(sorted, q);
          const error = Math.abs(stats[key] - exact) / exact;
          assert.ok(
            error <= 0.001,
            `${key}: ${stats[key]} vs ${exact} (${error})`,
          );
        }
      } finally {
        a.close();
      }
    });
  }
});

Deno.test("Aggregator: a snapshot restores the same state in a new aggregator", () => {
  const a = aggregator();
  const b = aggregator();
  try {
    feed(a, 0, logNormal(10_000, -3, 1, 3));
    feed(a, 1, [0.2, 0.4, 0.6]);
    const snapshots = a.takeSnapshot();
    assert.equal(snapshotRecords(snapshots).length, 2);
    assert.equal(a.takeSnapshot().length, 0, "nothing changed since");
    b.restore(snapshots, 0);
    assert.deepEqual(
      texts(b.render([0, 1], "openmetrics", 0)),
      texts(a.render([0, 1], "openmetrics", 0)),
    );
    assert.deepEqual(b.stats(0, 0), a.stats(0, 0));
    // Both go on alike after the restore.
    feed(a, 0, [0.3]);
    feed(b, 0, [0.3]);
    assert.deepEqual(b.stats(0, 0), a.stats(0, 0));
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("Aggregator: a summary's quantiles forget observations older than maxAge", () => {
  const a = aggregator();
  try {
    feed(a, 1, [1, 1, 1], 0);
    assertNear(a.stats(1, 1000)!.p50, 1);
    // Slices are 2 s: at 9 s the first slice is still in the window.
    feed(a, 1, [3], 9_000);
    assertNear(a.stats(1, 9_000)!.p50, 1);
    // At 10 s it has aged out; count and sum keep all time.
    const stats = a.stats(1, 10_000)!;
    assertNear(stats.p50, 3);
    assert.equal(stats.count, 4);
    assert.equal(stats.sum, 6);
    // After a long silence the window is empty.
    const [text] = texts(a.render([1], "prometheus", 60_000));
    assert.match(text!, /^confidence\{quantile="0\.5"\} NaN$/m);
    assert.match(text!, /^confidence_count 4$/m);
  } finally {
    a.close();
  }
});

Deno.test("Aggregator skips pairs of removed series and of unknown ids", () => {
  const a = aggregator();
  try {
    a.removeSeries(1);
    feed(a, 1, [5]);
    feed(a, 42, [5]);
    assert.equal(a.stats(1, 0), undefined);
    feed(a, 0, [5]);
    assert.equal(a.stats(0, 0)!.count, 1);
  } finally {
    a.close();
  }
});

Deno.test("Aggregator leaves _sum and _count out of OpenMetrics after a negative observation", () => {
  const a = aggregator();
  try {
    feed(a, 0, [-2, 1]);
    const [om] = texts(a.render([0], "openmetrics", 0));
    assert.doesNotMatch(om!, /_sum|_count/);
    assert.match(
      om!,
      /^latency_seconds_bucket\{route="\/a",le="\+Inf"\} 2\.0$/m,
    );
    const [text] = texts(a.render([0], "prometheus", 0));
    assert.match(text!, /^latency_seconds_sum\{route="\/a"\} -1$/m);
  } finally {
    a.close();
  }
});

Deno.test("Aggregator refuses a value that would make a sum infinite and counts it per family", () => {
  const a = aggregator();
  try {
    // 1e308 fits; a second would overflow; then the sum goes down and
    // overflows the other way.
    feed(a, 0, [1e308, 1e308, -1e308, -1e308, -1e308, NaN]);
    feed(a, 1, [1e308, 1e308]);
    const stats = a.stats(0, 0)!;
    assert.equal(stats.count, 3);
    assert.equal(stats.sum, -1e308);
    assert.equal(stats.min, -1e308);
    assert.equal(stats.max, 1e308);
    assert.equal(a.stats(1, 0)!.count, 1);
    const [text] = texts(a.render([0], "prometheus", 0));
    assert.match(
      text!,
      /^latency_seconds_bucket\{route="\/a",le="\+Inf"\} 3$/m,
    );
    assert.match(text!, /^latency_seconds_count\{route="\/a"\} 3$/m);
    // The snapshot holds the same three: a restored series renders alike.
    const b = aggregator();
    b.restore(a.takeSnapshot(), 0);
    assert.deepEqual(texts(b.render([0], "prometheus", 0)), [text]);
    assert.deepEqual(b.stats(0, 0), stats);
    assert.deepEqual(a.refused(), [[0, 3], [1, 1]]);
  } finally {
    a.close();
  }
});

Deno.test("Aggregator keeps refusal counts when a series goes and adds to restored ones", () => {
  const a = aggregator();
  const b = aggregator();
  try {
    feed(a, 0, [1e308, 1e308]);
    a.removeSeries(0);
    assert.deepEqual(a.refused(), [[0, 1]]);
    b.restoreRefused(a.refused());
    feed(b, 1, [1e308, 1e308, 1e308]);
    assert.deepEqual(b.refused(), [[0, 1], [1, 2]]);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("Aggregator skips the pairs of a removed series whose index a newer series reuses", () => {
  const a = aggregator();
  try {
    a.removeSeries(0);
    const id = GENERATION;
    a.defineSeries({ id, family: 0, pairs: 'route="/b"', created: 3 }, 0);
    feed(a, 0, [5]);
    assert.equal(a.stats(0, 0), undefined);
    assert.equal(a.stats(id, 0)!.count, 0);
    feed(a, id, [5, 6]);
    assert.equal(a.stats(id, 0)!.count, 2);
    const [text] = texts(a.render([0], "prometheus", 0));
    assert.doesNotMatch(text!, /route="\/a"/);
    a.removeSeries(0);
    assert.equal(a.stats(id, 0)!.count, 2, "the old id removes nothing");
  } finally {
    a.close();
  }
});

Deno.test("Aggregator snapshots only changed series, a few bytes for each distinct value", () => {
  const a = aggregator();
  try {
    a.defineSeries({ id: 2, family: 0, pairs: 'route="/c"', created: 1 }, 0);
    // 300 distinct values from 1 ms to 1 s, each seen twice.
    const values = Array.from(
      { length: 300 },
      (_, i) => 1e-3 * 1000 ** (i / 300),
    );
    feed(a, 0, [...values, ...values]);
    const records = snapshotRecords(a.takeSnapshot());
    assert.deepEqual(records.map((r) => r.id), [0]);
    // Header 12, totals 32, 12 buckets of 1-2 bytes, 300 (delta, count) pairs.
    const length = records[0]!.bytes.length;
    assert.ok(length > 12 + 32 + 300 * 2, `${length} bytes`);
    assert.ok(length < 12 + 32 + 24 + 300 * 4, `${length} bytes`);
    // A series never observed is not in a snapshot; restored, it renders zeros.
    feed(a, 2, []);
    assert.equal(a.takeSnapshot().length, 0);
    const [text] = texts(a.render([0], "prometheus", 0));
    assert.match(
      text!,
      /^latency_seconds_bucket\{route="\/c",le="\+Inf"\} 0$/m,
    );
    assert.match(text!, /^latency_seconds_count\{route="\/c"\} 0$/m);
  } finally {
    a.close();
  }
});

Deno.test("Aggregator.restore() names a record whose length does not match what its series reads", () => {
  const a = aggregator();
  const b = aggregator();
  try {
    feed(a, 0, [0.1, 0.2]);
    const bytes = a.takeSnapshot();
    // Claim one byte more than the record holds, and supply it.
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    new DataView(longer.buffer).setUint32(8, bytes.length - 12 + 1, true);
    assert.throws(() => b.restore(longer, 0), {
      name: "RangeError",
      message: /Cannot restore series 0: its record holds \d+ bytes/,
    });
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("Aggregator.removeFamily() frees its series, skips their pairs and drops its refusals", () => {
  const a = aggregator();
  try {
    a.defineSeries({ id: 2, family: 1, pairs: 'k="b"', created: 3 }, 0);
    feed(a, 1, [1e308, 1e308]); // the second refused
    feed(a, 2, [0.5]);
    feed(a, 0, [1e308, 1e308]);
    assert.deepEqual(a.held(), { families: 2, series: 3, indexes: 3 });
    a.removeFamily(1);
    assert.deepEqual(a.held(), { families: 1, series: 1, indexes: 3 });
    assert.deepEqual(a.refused(), [[0, 1]]);
    // Changed before the removal, yet no snapshot carries them.
    assert.deepEqual(snapshotRecords(a.takeSnapshot()).map((r) => r.id), [0]);
    feed(a, 1, [1e308, 1e308]);
    feed(a, 2, [1]);
    assert.equal(a.stats(1, 0), undefined);
    assert.equal(a.stats(2, 0), undefined);
    assert.deepEqual(texts(a.render([0, 1], "prometheus", 0))[1], "");
    assert.deepEqual(a.refused(), [[0, 1]]);
    assert.equal(a.dirty, false);
    a.removeFamily(1);
    a.removeFamily(42);
    assert.equal(a.stats(0, 0)!.count, 1);
    // A series of another family takes a freed index, in a new generation.
    a.defineSeries({ id: GENERATION + 1, family: 0, pairs: "", created: 4 }, 0);
    feed(a, 1, [5]);
    feed(a, GENERATION + 1, [6]);
    assert.equal(a.stats(GENERATION + 1, 0)!.sum, 6);
  } finally {
    a.close();
  }
});

Deno.test("Aggregator.dirtyBytes gives back what removed series would have cost, so snapshots still come", () => {
  const a = new Aggregator();
  try {
    // Many buckets: each series' record costs more than its one observation.
    const buckets = Array.from({ length: 40 }, (_, i) => (i + 1) / 10);
    a.defineFamily({ ...HISTOGRAM, buckets });
    a.defineFamily({ ...HISTOGRAM, id: 1, name: "other_seconds" });
    for (let id = 0; id < 10; id++) {
      a.defineSeries({ id, family: id < 5 ? 0 : 1, pairs: "", created: 0 }, 0);
      feed(a, id, [0.5]);
    }
    const before = a.dirtyBytes;
    assert.ok(before > 10 * 16, "ten records outweigh ten observations");
    a.removeSeries(0);
    assert.ok(a.dirtyBytes < before);
    // Redefining an index drops its series too.
    a.defineSeries({ id: 1 + GENERATION, family: 0, pairs: "", created: 0 }, 0);
    for (let id = 2; id < 5; id++) a.removeSeries(id);
    a.removeFamily(1);
    assert.equal(a.dirtyBytes, 0);
    assert.equal(a.takeSnapshot().length, 0);
  } finally {
    a.close();
  }
});
