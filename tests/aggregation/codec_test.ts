import assert from "node:assert/strict";
import fc from "fast-check";
import { ByteReader, ByteWriter } from "../../src/aggregation/codec.ts";
import { snapshotRecords } from "./_records.ts";

Deno.test("ByteWriter and ByteReader round-trip varints up to 2^53 and any float", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.integer({ min: 0, max: 300 }).map((n) => ["varint", n] as const),
          fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map((n) =>
            ["varint", n] as const
          ),
          fc.integer({ min: 0, max: 53 }).map((k) =>
            ["varint", 2 ** k - (k > 0 ? 1 : 0)] as const
          ),
          fc.double().map((x) => ["f64", x] as const),
        ),
      ),
      (items) => {
        const writer = new ByteWriter(1);
        for (const [kind, value] of items) writer[kind](value);
        const reader = new ByteReader(writer.finish());
        for (const [kind, value] of items) {
          assert.ok(Object.is(reader[kind](), value));
        }
        assert.ok(reader.done);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("ByteReader names the byte where a varint is cut short", () => {
  const reader = new ByteReader(new Uint8Array([0x80, 0x80]));
  assert.throws(() => reader.varint(), {
    name: "RangeError",
    message: /ends inside a number at byte 2/,
  });
});

Deno.test("snapshotRecords() splits records by their header and rejects one that runs past the end", () => {
  const writer = new ByteWriter();
  for (const [id, body] of [[3, [1, 2, 3]], [2 ** 32 + 1, []]] as const) {
    writer.f64(id);
    const at = writer.skip(4);
    for (const byte of body) writer.varint(byte);
    writer.u32At(at, body.length);
  }
  const bytes = writer.finish();
  const records = snapshotRecords(bytes);
  assert.deepEqual(records.map((r) => r.id), [3, 2 ** 32 + 1]);
  assert.deepEqual(records.map((r) => r.bytes.length), [15, 12]);
  assert.throws(() => snapshotRecords(bytes.subarray(0, 14)), {
    name: "RangeError",
    message: /record of series 3 at byte 0 runs past its end/,
  });
});

Deno.test("ByteWriter.text() writes any string as TextEncoder does, and repeat() copies what it wrote", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme" }), fc.string(), (a, b) => {
      const writer = new ByteWriter(1);
      writer.text(a);
      const length = writer.length;
      writer.text(b);
      writer.repeat(0, length);
      assert.deepEqual(
        writer.finish(),
        new TextEncoder().encode(a + b + a),
      );
    }),
    { numRuns: 300 },
  );
});
