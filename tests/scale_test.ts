// 100,000 histogram series through real workers: exact counts, no worker
// taken for dead while it works, and a killed worker restored and replayed
// at that size. Issue 8's scale tests; the figures are in bench/scale.ts.
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/load.ts";
import { startVigil } from "../src/app.ts";
import { AggregationPool } from "../src/aggregation/pool.ts";
import { workerConnection } from "../src/aggregation/connections.ts";
import type { Connection } from "../src/aggregation/shard.ts";
import { Histogram } from "../src/metrics/histogram.ts";
import { FAMILY } from "../src/metrics/_family.ts";
import type { WorkerStatus } from "../src/aggregation/types.ts";
import { contextFor } from "./aggregation/_context.ts";
import { recordingLogger } from "./_tools.ts";

const SERIES = 100_000;
/** Two bounds: each series renders 5 lines, so the text stays near 40 MB. */
const BUCKETS = [0.01, 1];
const STATUSES = ["200", "404", "500", "503"];
/** One observation under each bound and one above, per round. */
const VALUES = [0.005, 0.5, 5];

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Label values of series `i`: 25,000 routes crossed with 4 statuses. */
function labelsOf(i: number): { route: string; status: string } {
  return { route: `/api/v1/items/${i >> 2}`, status: STATUSES[i & 3]! };
}

/**
 * Runs `fn` over `0..count` in chunks, yielding to the event loop between
 * them, as a service does between requests.
 */
async function chunked(
  count: number,
  fn: (i: number) => void,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    fn(i);
    if (i % 5000 === 4999) await delay(0);
  }
}

/**
 * Checks every series of `name` in `text` saw `rounds` of {@linkcode VALUES}:
 * its buckets, count and sum, exactly.
 */
function assertExact(text: string, name: string, rounds: number): void {
  const expected = new Map([
    [`le="0.01"`, rounds],
    [`le="1.0"`, 2 * rounds],
    [`le="+Inf"`, 3 * rounds],
  ]);
  const seen = new Map<string, number>();
  const pattern = new RegExp(
    `^${name}_bucket\\{route="([^"]+)",status="(\\d+)",(le="[^"]+")\\} (\\S+)$`,
    "gm",
  );
  for (const [, route, status, le, value] of text.matchAll(pattern)) {
    const want = expected.get(le!);
    assert.equal(Number(value), want, `${route} ${status} ${le}`);
    seen.set(le!, (seen.get(le!) ?? 0) + 1);
  }
  for (const le of expected.keys()) {
    assert.equal(seen.get(le), SERIES, `series with a ${le} bucket`);
  }
  const sum = rounds * VALUES.reduce((a, b) => a + b);
  let counts = 0;
  const totals = new RegExp(
    `^${name}_(count|sum)\\{route="[^"]+",status="\\d+"\\} (\\S+)$`,
    "gm",
  );
  for (const [, kind, value] of text.matchAll(totals)) {
    if (kind === "count") {
      assert.equal(Number(value), 3 * rounds);
      counts++;
    } else assert.ok(Math.abs(Number(value) - sum) < 1e-9, value);
  }
  assert.equal(counts, SERIES);
}

/** Every worker is connected, answering and in its own thread. */
function healthy(workers: readonly WorkerStatus[]): boolean {
  return workers.length > 0 &&
    workers.every((w) =>
      w.connected && w.responsive && !w.fallback && !w.inThread
    );
}

Deno.test("100,000 histogram series: exact counts, no restart or fallback, /health/live 200 throughout", async () => {
  const config = parseConfig(
    [
      "server:",
      "  port: 0",
      "  drainDelayMs: 0",
      "metrics:",
      "  cardinalityLimit: 200000",
      "  workers: 2",
    ].join("\n"),
    "scale.yaml",
  );
  const logger = recordingLogger();
  const app = startVigil(config, { logger });
  const base = `http://127.0.0.1:${app.server.addr.port}`;
  const problems: string[] = [];
  let probes = 0;
  let stop = false;
  // Probes liveness and the workers until the test ends, as a kubelet and a
  // dashboard would.
  const prober = (async () => {
    while (!stop) {
      const response = await fetch(`${base}/health/live`);
      await response.body?.cancel();
      if (response.status !== 200) problems.push(`live ${response.status}`);
      const workers = app.registry.workers();
      if (!healthy(workers)) problems.push(JSON.stringify(workers));
      probes++;
      await delay(25);
    }
  })();
  try {
    const histogram = app.registry.histogram({
      name: "scale_seconds",
      help: "Scale test",
      labelNames: ["route", "status"],
      buckets: BUCKETS,
    });
    const children: ReturnType<typeof histogram.labels>[] = [];
    await chunked(SERIES, (i) => children.push(histogram.labels(labelsOf(i))));
    for (const value of VALUES) {
      await chunked(SERIES, (i) => children[i]!.observe(value));
    }
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    assertExact(text, "scale_seconds", 1);
    assert.match(text, /^vigil_worker_restarts_total 0$/m);
    assert.match(text, /^vigil_observations_dropped_total 0$/m);
    // A second scrape after more observations: still exact.
    for (const value of VALUES) {
      await chunked(SERIES, (i) => children[i]!.observe(value));
    }
    assertExact(await app.registry.metrics(), "scale_seconds", 2);
    const stats = await children[SERIES - 1]!.snapshot();
    assert.equal(stats.count, 6);
    assert.equal(stats.max, 5);
  } finally {
    stop = true;
    await prober;
    await app.shutdown();
  }
  assert.ok(probes > 0, "liveness was probed");
  assert.deepEqual(problems, []);
  const failures = logger.records.filter((r) => r.level === "error");
  assert.deepEqual(failures, []);
});

Deno.test("100,000 histogram series: a killed worker is restored and replayed at that size, exactly", async () => {
  const logger = recordingLogger();
  const connections: Connection[] = [];
  const pool = new AggregationPool(
    // Defaults but one worker, so the one killed holds every series; a
    // small ring, so the kill finds batches to replay beside the snapshot.
    { workers: 1, batchSlots: 8, spillBatches: 4096 },
    logger,
    (onFailure) => {
      const connection = workerConnection(onFailure);
      connections.push(connection);
      return connection;
    },
  );
  try {
    const histogram = new Histogram(
      "scale_seconds",
      "x",
      ["route", "status"],
      BUCKETS,
      1e-6,
      pool,
      { ...contextFor(logger), cardinalityLimit: SERIES },
    );
    const children: ReturnType<typeof histogram.labels>[] = [];
    await chunked(SERIES, (i) => children.push(histogram.labels(labelsOf(i))));
    for (const value of VALUES) {
      await chunked(SERIES, (i) => children[i]!.observe(value));
    }
    // Wait until a snapshot holds every series, then observe a second round:
    // the worker dies with those batches retained, not snapshotted.
    const held = () => pool.shards[0]!.held.snapshots;
    while (held() < SERIES) await delay(20);
    for (const value of VALUES) {
      await chunked(SERIES, (i) => children[i]!.observe(value));
    }
    pool.flush();
    assert.ok(pool.shards[0]!.retainedBatches > 0, "batches to replay");
    // A batch its slot does not hold: the worker throws and is replaced.
    connections.at(-1)!.port.postMessage({
      type: "batch",
      seq: -7,
      slot: 0,
      length: 2,
    });
    while (connections.length < 2 || !healthy(pool.status())) await delay(20);
    const family = histogram[FAMILY]().aggregationId!;
    const text = await pool.render(family, "prometheus");
    assertExact(text, "scale_seconds", 2);
    assert.equal(pool.restarts, 1, "one restart, no more");
    assert.equal(pool.dropped, 0);
    assert.ok(healthy(pool.status()), JSON.stringify(pool.status()));
  } finally {
    pool.close();
  }
});
