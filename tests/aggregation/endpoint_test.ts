// The aggregator's message loop, driven through a real MessageChannel.
import assert from "node:assert/strict";
import { serveAggregator } from "../../src/aggregation/endpoint.ts";
import type {
  FromAggregator,
  ToAggregator,
} from "../../src/aggregation/protocol.ts";
import { DEFAULT_BUCKETS } from "../../src/metrics/buckets.ts";

Deno.test("An aggregator snapshots no more bytes than the batches it applied, however many series each batch touches", async () => {
  const channel = new MessageChannel();
  const endpoint = serveAggregator(channel.port2);
  const received: FromAggregator[] = [];
  const port = channel.port1;
  port.onmessage = (event: MessageEvent<FromAggregator>) =>
    received.push(event.data);
  const post = (message: ToAggregator) => port.postMessage(message);
  const SERIES = 20_000;
  const BATCHES = 200;
  const BATCH = 4096;
  try {
    post({
      type: "init",
      ring: new SharedArrayBuffer(8),
      fences: new SharedArrayBuffer(4),
      slotLength: 0,
      snapshotIntervalMs: 60_000,
      progress: new SharedArrayBuffer(4),
    });
    post({
      type: "family",
      family: {
        id: 0,
        kind: "histogram",
        name: "h",
        buckets: DEFAULT_BUCKETS,
        quantiles: [],
        maxAgeMs: 0,
        ageBuckets: 0,
        resolution: 1e-6,
      },
    });
    post({
      type: "series",
      series: Array.from(
        { length: SERIES },
        (_, id) => ({ id, family: 0, pairs: `k="${id}"`, created: 0 }),
      ),
    });
    // Every batch spreads over the series, with values distinct enough that
    // each series holds a few hundred HDR indexes by the end.
    let batchBytes = 0;
    for (let seq = 0; seq < BATCHES; seq++) {
      const data = new Float64Array(2 * BATCH);
      for (let i = 0; i < BATCH; i++) {
        const n = seq * BATCH + i;
        data[2 * i] = (n * 7919) % SERIES;
        data[2 * i + 1] = 1e-3 * 1000 ** ((n % 997) / 997);
      }
      batchBytes += data.byteLength;
      post({ type: "batch", seq, slot: -2, length: data.length, data });
    }
    post({ type: "ping", request: 1 });
    while (!received.some((m) => m.type === "pong")) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const applied = received.filter((m) => m.type === "applied");
    assert.deepEqual(
      applied.map((m) => m.seq),
      Array.from({ length: BATCHES }, (_, i) => i),
    );
    const snapshots = received.flatMap((m) => m.type === "snapshot" ? [m] : []);
    assert.ok(snapshots.length > 0, "the batches outweighed the state");
    const snapshotBytes = snapshots.reduce(
      (sum, m) => sum + m.records.length,
      0,
    );
    // Each snapshot is taken once the batches since the last outweigh the
    // series they changed (estimated): in all, no more than the batches,
    // give or take the estimate.
    assert.ok(
      snapshotBytes <= batchBytes * 1.25,
      `${snapshotBytes} snapshot bytes for ${batchBytes} batch bytes`,
    );
  } finally {
    endpoint.close();
    port.close();
  }
});
