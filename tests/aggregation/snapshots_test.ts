import assert from "node:assert/strict";
import { ByteWriter } from "../../src/aggregation/codec.ts";
import { snapshotRecords } from "./_records.ts";
import { SnapshotStore } from "../../src/aggregation/snapshots.ts";

/** A snapshot of records `[id, filler bytes]`, each filler byte its id's low byte. */
function snapshot(
  records: readonly (readonly [number, number])[],
): Uint8Array<ArrayBuffer> {
  const writer = new ByteWriter();
  for (const [id, length] of records) {
    writer.f64(id);
    const at = writer.skip(4);
    for (let i = 0; i < length; i++) writer.varint(id & 127);
    writer.u32At(at, length);
  }
  // In a buffer of its own length, as the worker sends a snapshot.
  return writer.finish().slice();
}

/** The ids and body lengths of what the store would restore from. */
function restored(store: SnapshotStore): [number, number][] {
  return snapshotRecords(store.concat()).map((
    r,
  ) => [r.id, r.bytes.length - 12]);
}

Deno.test("SnapshotStore keeps each series' newest record, whatever order snapshots arrive in", () => {
  const store = new SnapshotStore();
  const all = () => true;
  store.receive(1, snapshot([[1, 3], [2, 4]]), all);
  store.receive(3, snapshot([[1, 5]]), all);
  // An older snapshot, delivered late: series 1's record stays the newer
  // one, series 3 is new.
  store.receive(2, snapshot([[1, 9], [3, 2]]), all);
  assert.deepEqual(restored(store).sort(), [[1, 5], [2, 4], [3, 2]]);
  store.delete(2);
  store.delete(42);
  assert.deepEqual(restored(store).sort(), [[1, 5], [3, 2]]);
  assert.equal(store.size, 2);
});

Deno.test("SnapshotStore skips the records its keep() refuses", () => {
  const store = new SnapshotStore();
  store.receive(0, snapshot([[1, 1], [2, 1]]), (id) => id !== 2);
  assert.deepEqual(restored(store), [[1, 1]]);
});

Deno.test("SnapshotStore frees superseded buffers and compacts once dead bytes outnumber live ones", () => {
  const store = new SnapshotStore();
  const all = () => true;
  // 1,000 series of 2 KB: 2 MB live in one buffer.
  const ids = Array.from({ length: 1000 }, (_, i) => i);
  store.receive(0, snapshot(ids.map((id) => [id, 2000])), all);
  const live = store.bytes.live;
  assert.equal(store.bytes.buffers, live);
  // Every series changes: the first buffer is wholly superseded and freed.
  store.receive(1, snapshot(ids.map((id) => [id, 2000])), all);
  assert.deepEqual(store.bytes, { live, buffers: live });
  // Only series 0 is left in the second buffer's company: the rest change
  // in small snapshots until the dead bytes pass the live ones.
  for (let seq = 2; seq < 1000; seq++) {
    store.receive(seq, snapshot([[seq, 2000]]), all);
    const { live, buffers } = store.bytes;
    assert.ok(
      buffers - live <= Math.max(live, 1 << 20) + 2012,
      `seq ${seq}: ${buffers} buffer bytes for ${live} live`,
    );
  }
  assert.equal(store.bytes.live, live, "as many records, as long");
  assert.ok(store.bytes.buffers < 2 * live + 2012);
  assert.deepEqual(
    restored(store).sort((a, b) => a[0] - b[0]),
    ids.map((id) => [id, 2000]),
  );
});

Deno.test("SnapshotStore counts the whole buffer a record keeps alive", () => {
  const store = new SnapshotStore();
  const roomy = new Uint8Array(1000);
  roomy.set(snapshot([[1, 3]]));
  store.receive(0, roomy.subarray(0, 15), () => true);
  assert.deepEqual(store.bytes, { live: 15, buffers: 1000 });
  store.delete(1);
  assert.deepEqual(store.bytes, { live: 0, buffers: 0 });
});

Deno.test("SnapshotStore names a record that runs past its snapshot", () => {
  const store = new SnapshotStore();
  assert.throws(
    () => store.receive(0, snapshot([[7, 3]]).subarray(0, 14), () => true),
    { name: "RangeError", message: /record of series 7 at byte 0/ },
  );
});
