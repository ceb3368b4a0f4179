import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ByteArena,
  bytesOf,
  PAGE_BYTES,
  sizeClass,
} from "../../src/aggregation/arena.ts";
import { SparseCounts } from "../../src/aggregation/hdr.ts";

/** The counts holding a block, as the aggregator hands them to `compact()`. */
function owners(all: readonly (SparseCounts | undefined)[]): SparseCounts[] {
  return all.filter((c): c is SparseCounts => c?.hasBlock === true);
}

/** The counts of `c` as index → count, zeros left out. */
function contents(c: SparseCounts): Map<number, number> {
  const map = new Map<number, number>();
  for (let p = 0; p < c.size; p++) {
    if (c.countAt(p) > 0) map.set(c.keyAt(p), c.countAt(p));
  }
  return map;
}

Deno.test("Size classes grow by about a quarter, in multiples of 8, up to half a page", () => {
  assert.equal(bytesOf(0), 16);
  assert.equal(sizeClass(1), 0);
  assert.equal(sizeClass(17), 1);
  const last = sizeClass(PAGE_BYTES / 2);
  // Every HDR index with a 32-bit count fits one block.
  assert.ok(bytesOf(last) >= 45056 * 6);
  for (let c = 1; c <= last; c++) {
    assert.ok(
      bytesOf(c) <= Math.max(bytesOf(c - 1) + 8, bytesOf(c - 1) * 1.25 + 8),
    );
    assert.equal(bytesOf(c) % 8, 0);
  }
  assert.throws(() => sizeClass(PAGE_BYTES), {
    name: "RangeError",
    message:
      /Cannot allocate 1048576 bytes in an arena: a block holds at most \d+/,
  });
});

Deno.test("ByteArena reuses freed blocks of a class before taking new room", () => {
  const arena = new ByteArena();
  const a = arena.allocate(3);
  const b = arena.allocate(3);
  assert.equal(b, a + bytesOf(3));
  arena.release(a, 3);
  assert.deepEqual(arena.usage, {
    live: bytesOf(3),
    free: bytesOf(3),
    pages: PAGE_BYTES,
  });
  assert.equal(arena.allocate(3), a);
  assert.equal(arena.usage.free, 0);
  // A block that does not fit the rest of the page starts a new one.
  const big = arena.allocate(sizeClass(PAGE_BYTES / 2));
  const next = arena.allocate(sizeClass(PAGE_BYTES / 2));
  assert.equal(Math.floor(next / PAGE_BYTES), Math.floor(big / PAGE_BYTES) + 1);
});

Deno.test("SparseCounts in one arena keep their counts through growth, disposal and compaction", () => {
  const operation = fc.oneof(
    fc.record({
      op: fc.constant("add" as const),
      series: fc.nat(19),
      index: fc.oneof(fc.nat(3000), fc.nat(45055)),
      count: fc.integer({ min: 1, max: 1000 }),
    }),
    fc.record({ op: fc.constant("dispose" as const), series: fc.nat(19) }),
    fc.record({ op: fc.constant("clear" as const), series: fc.nat(19) }),
    fc.record({ op: fc.constant("compact" as const) }),
  );
  fc.assert(
    fc.property(
      fc.array(operation, { maxLength: 3000, size: "max" }),
      (ops) => {
        const arena = new ByteArena();
        const series: (SparseCounts | undefined)[] = [];
        const model: Map<number, number>[] = [];
        for (const o of ops) {
          if (o.op === "compact") {
            arena.compact(owners(series));
            continue;
          }
          const { series: s } = o;
          if (o.op === "add") {
            const c = series[s] ??= new SparseCounts(arena);
            const m = model[s] ??= new Map();
            c.add(o.index, o.count);
            m.set(o.index, (m.get(o.index) ?? 0) + o.count);
          } else if (o.op === "clear") {
            series[s]?.clear();
            model[s]?.clear();
          } else {
            series[s]?.dispose();
            series[s] = undefined;
            model[s] = new Map();
          }
        }
        series.forEach((c, s) => {
          if (c === undefined) return;
          assert.deepEqual(
            contents(c),
            new Map([...model[s]!].sort((a, b) => a[0] - b[0])),
          );
          const total = [...model[s]!.values()].reduce((x, y) => x + y, 0);
          assert.equal(c.total, total);
          assert.equal(c.distinct, model[s]!.size);
        });
        // Once compacted, nothing is free and the live words are the blocks
        // of sorted counts.
        arena.compact(owners(series));
        assert.equal(arena.usage.free, 0);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("ByteArena compacts once freed bytes pass half the live ones, staying within 1.5 times them and a page", () => {
  const arena = new ByteArena();
  const live: SparseCounts[] = [];
  for (let round = 0; round < 200; round++) {
    const c = new SparseCounts(arena);
    for (let i = 0; i < 500; i++) c.add(i * 7);
    live.push(c);
    // Keep the newest 10: the rest are disposed, as removed series are.
    if (live.length > 10) live.shift()!.dispose();
    if (arena.wasteful) {
      arena.compact(owners(live));
    }
    const { live: liveWords, free } = arena.usage;
    assert.ok(
      free <= Math.max(liveWords, 1 << 16),
      `round ${round}: ${free} free`,
    );
  }
  for (const c of live) assert.equal(c.total, 500);
});

Deno.test("SparseCounts widens its counts from 8 to 16, 32 and 64 bits in either layout", () => {
  const arena = new ByteArena();
  const steps = [200, 100, 70_000, 2 ** 32, 5];
  // Sorted: three indexes far apart. Dense: 100 neighbours.
  for (
    const indexes of [
      [10, 5000, 40_000],
      Array.from({ length: 100 }, (_, i) => 3000 + i),
    ]
  ) {
    const c = new SparseCounts(arena);
    for (const index of indexes) c.add(index);
    const model = new Map(indexes.map((index) => [index, 1]));
    for (const step of steps) {
      c.add(indexes[1]!, step);
      model.set(indexes[1]!, model.get(indexes[1]!)! + step);
      assert.deepEqual(contents(c), model);
    }
    assert.equal(c.total, indexes.length + steps.reduce((a, b) => a + b));
    assert.equal(c.dense?.constructor, Float64Array, "64 bits in the end");
    c.dispose();
  }
  assert.equal(arena.usage.live, 0, "every block given back");
});

Deno.test("SparseCounts keeps every count when a new index past the 64th arrives with a count past 2^32", () => {
  // As a restore decodes a long-lived series: each index with its whole
  // count. The 64-bit count turns the counts dense, and nothing may then
  // shrink the window.
  const arena = new ByteArena();
  const c = new SparseCounts(arena);
  const model = new Map<number, number>();
  for (let i = 0; i < 70; i++) {
    c.add(i * 500);
    model.set(i * 500, 1);
  }
  c.add(35_000, 2 ** 32 + 5);
  model.set(35_000, 2 ** 32 + 5);
  assert.deepEqual(
    contents(c),
    new Map([...model].sort((a, b) => a[0] - b[0])),
  );
  assert.equal(c.distinct, 71);
  assert.equal(c.total, 70 + 2 ** 32 + 5);
  c.dispose();
});
