// The main thread's side of one aggregator, driven directly: a relay
// between it and an aggregator on this thread decides when snapshots arrive.
import assert from "node:assert/strict";
import { inThreadConnection } from "../../src/aggregation/connections.ts";
import { serveAggregator } from "../../src/aggregation/endpoint.ts";
import { snapshotRecords } from "./_records.ts";
import type {
  FamilyDefinition,
  FromAggregator,
} from "../../src/aggregation/protocol.ts";
import { type Connection, Shard } from "../../src/aggregation/shard.ts";
import { DEFAULT_BUCKETS } from "../../src/metrics/buckets.ts";

const FAMILY: FamilyDefinition = {
  id: 0,
  kind: "histogram",
  name: "work_seconds",
  buckets: DEFAULT_BUCKETS,
  quantiles: [],
  maxAgeMs: 0,
  ageBuckets: 0,
  resolution: 1e-6,
};

/**
 * A connection to an aggregator on this thread that passes on every
 * message but snapshots: those wait in `held` until the test sends them to
 * the shard with `deliver`, in the order it chooses.
 */
function relayedConnection(): {
  connection: Connection;
  held: Extract<FromAggregator, { type: "snapshot" }>[];
  deliver: (message: FromAggregator) => void;
} {
  const toShard = new MessageChannel();
  const toAggregator = new MessageChannel();
  const endpoint = serveAggregator(toAggregator.port2);
  const held: Extract<FromAggregator, { type: "snapshot" }>[] = [];
  toShard.port2.onmessage = (event) =>
    toAggregator.port1.postMessage(event.data);
  toAggregator.port1.onmessage = (event: MessageEvent<FromAggregator>) => {
    if (event.data.type === "snapshot") held.push(event.data);
    else toShard.port2.postMessage(event.data);
  };
  const connection: Connection = {
    port: toShard.port1,
    inThread: true,
    terminate: () => {
      endpoint.close();
      for (const port of [toShard.port1, toShard.port2, toAggregator.port1]) {
        port.onmessage = null;
        port.close();
      }
    },
  };
  return {
    connection,
    held,
    deliver: (message) => toShard.port2.postMessage(message),
  };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records a value as the hot path does (see `DistributionChild.observe`). */
function observe(shard: Shard, id: number, value: number): void {
  let pos = shard.pos;
  if (pos >= shard.end) pos = shard.rotate();
  assert.ok(pos >= 0, "the observation found room");
  shard.buf[pos] = id;
  shard.buf[pos + 1] = value;
  shard.pos = pos + 2;
}

/**
 * Returns once the aggregator has handled every message sent before, and
 * the shard every message delivered before.
 */
async function roundTrip(shard: Shard): Promise<void> {
  await shard.request({ type: "ping", request: shard.nextRequest() });
}

Deno.test("Shard keeps each series' newest snapshot whatever order snapshots arrive in, so a restart loses nothing", async () => {
  const relay = relayedConnection();
  const shard = new Shard({
    index: 0,
    slots: 2,
    spillBatches: 4,
    batchSize: 4,
    // Each batch outweighs an eighth of the series it changes: the
    // aggregator snapshots a millisecond after each.
    snapshotIntervalMs: 1,
    connect: () => relay.connection,
    // The aggregator's successor, as the pool would start it.
    onFailure: (failed) => failed.connect(inThreadConnection),
    onRefused: () => {},
  });
  try {
    shard.connect();
    shard.defineFamily(FAMILY);
    const [a, b, c] = ["a", "b", "c"].map((k) =>
      shard.defineSeries(FAMILY.id, `k="${k}"`, 0)
    ) as [number, number, number];
    // Batch 0 changes a, b and c; c refuses its second value.
    observe(shard, a, 1);
    observe(shard, b, 1);
    observe(shard, c, 1e308);
    observe(shard, c, 1e308);
    shard.flush();
    while (relay.held.length < 1) await delay(1);
    // Batch 1 changes only a, so its snapshot leaves b and c out; c
    // refuses again.
    observe(shard, a, 2);
    observe(shard, c, 1e308);
    shard.flush();
    while (relay.held.length < 2) await delay(1);
    const [first, second] = relay.held;
    assert.deepEqual(
      relay.held.map((s) => [
        s.seq,
        snapshotRecords(s.records).length,
        s.refused,
      ]),
      [[0, 3, [[0, 1]]], [1, 1, [[0, 2]]]],
    );

    // As when MessagePort.close() dispatches the queued messages before
    // the one its receive loop holds: the newer snapshot comes first.
    relay.deliver(second!);
    relay.deliver(first!);
    await roundTrip(shard);
    assert.equal(shard.retainedBatches, 0, "both batches are covered");

    // A successor starts from the snapshots alone: nothing is replayed.
    shard.fail("stopped by the test");
    assert.ok(shard.inThread, "the successor is connected");
    const stats = await Promise.all([a, b, c].map(async (id) => {
      const reply = await shard.request({
        type: "stats",
        request: shard.nextRequest(),
        id,
      });
      assert.equal(reply.type, "stats");
      return reply.type === "stats"
        ? [reply.stats?.count, reply.stats?.sum]
        : [];
    }));
    assert.deepEqual(stats, [[2, 3], [1, 1], [1, 1e308]]);
    assert.deepEqual([...shard.refused], [[0, 2]]);
  } finally {
    shard.close();
  }
});
