// Aggregation workers Deno cannot load: the pool falls back to the main
// thread at once, with one log message, instead of restarting them.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { AggregationPool } from "../../src/aggregation/pool.ts";
import {
  unreadableWorkerPaths,
  workerConnection,
} from "../../src/aggregation/connections.ts";
import { contextFor } from "./_context.ts";
import { Histogram } from "../../src/metrics/histogram.ts";
import { recordingLogger } from "../_tools.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(
  /[\\/]$/,
  "",
);
const SRC = `${ROOT}/src`;
const WORKERS = `${ROOT}/workers`;

/** The service script: in a folder of its own, as a service's would be. */
const SCRIPT_DIR = `${ROOT}/tests/aggregation`;
const SCRIPT = `${SCRIPT_DIR}/_service.ts`;

interface ChildResult {
  text: string;
  workers: { inThread: boolean; fallback: boolean }[];
  /** The child's log lines: the JSON lines on stdout before its result. */
  logs: Record<string, unknown>[];
  /** Everything the child wrote to stderr: Deno's errors, if any. */
  stderr: string;
}

/**
 * Runs the service script in a child process allowed to read only the
 * script's folder and `extraReads`. Deno loads the script's static imports
 * (all of `src/`) without read permission, as it does for a service that
 * imports Vigil with `--allow-read=./config.yaml`; only the worker needs it.
 */
async function runChild(extraReads: string[]): Promise<ChildResult> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      // For the import map of npm dependencies only: no permission.
      `--config=${ROOT}/deno.json`,
      `--allow-read=${[SCRIPT_DIR, ...extraReads].join(",")}`,
      SCRIPT,
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const err = decoder.decode(stderr);
  assert.equal(code, 0, err);
  const lines = decoder.decode(stdout).split("\n").filter((l) => l !== "");
  const result = JSON.parse(lines.pop() ?? "null");
  return { ...result, logs: lines.map((l) => JSON.parse(l)), stderr: err };
}

function assertCounted(text: string): void {
  for (const k of ["0", "1", "2", "3"]) {
    assert.match(
      text,
      new RegExp(`^work_seconds_count\\{k="${k}"\\} 250$`, "m"),
    );
    assert.match(
      text,
      new RegExp(`^work_seconds_sum\\{k="${k}"\\} 62.5$`, "m"),
    );
  }
  assert.match(text, /^vigil_worker_restarts_total 0$/m);
}

function assertOneMessageNaming(
  logs: Record<string, unknown>[],
  paths: string[],
): void {
  assert.equal(logs.length, 1, JSON.stringify(logs));
  const record = logs[0]!;
  assert.equal(record.level, "warning");
  assert.equal(record.logger, "vigil.metrics");
  assert.equal(record.event, "aggregation.worker_unreadable");
  const message = String(record.message);
  assert.ok(message.includes(`--allow-read=${paths.join(",")}`), message);
  assert.deepEqual(record.paths, paths);
}

Deno.test("Workers Deno may not read: the child aggregates on the main thread at once, with one message naming the flag", async (t) => {
  await t.step("--allow-read of the script's folder only", async () => {
    const { text, workers, logs, stderr } = await runChild([]);
    assertCounted(text);
    assert.equal(workers.length, 2);
    assert.ok(workers.every((w) => w.inThread && w.fallback));
    assertOneMessageNaming(logs, [SRC, WORKERS]);
    assert.equal(stderr, "");
  });
  await t.step("src/ readable, workers/ not", async () => {
    const { text, workers, logs, stderr } = await runChild([SRC]);
    assertCounted(text);
    assert.ok(workers.every((w) => w.inThread && w.fallback));
    assertOneMessageNaming(logs, [WORKERS]);
    assert.equal(stderr, "");
  });
  await t.step("both readable: workers run, nothing logged", async () => {
    const { text, workers, logs, stderr } = await runChild([SRC, WORKERS]);
    assertCounted(text);
    assert.ok(workers.every((w) => !w.inThread && !w.fallback));
    assert.deepEqual(logs, []);
    assert.equal(stderr, "");
  });
});

Deno.test("unreadableWorkerPaths() needs no read permission for a worker served over the network", () => {
  assert.deepEqual(
    unreadableWorkerPaths(
      new URL("https://jsr.io/@vigil/observe/0.1.0/workers/aggregator.ts"),
    ),
    [],
  );
  // These tests run with --allow-read.
  assert.deepEqual(unreadableWorkerPaths(), []);
});

Deno.test("A worker that fails to load is not restarted: its shard aggregates on the main thread, logged once", async () => {
  const logger = recordingLogger();
  // A module that throws as it loads, as a missing import would.
  const broken = new URL(
    "data:application/javascript,throw new Error('broken install')",
  );
  const pool = new AggregationPool(
    { workers: 2, heartbeatIntervalMs: 50, heartbeatTimeoutMs: 60_000 },
    logger,
    (onFailure) => workerConnection(onFailure, broken),
  );
  const context = contextFor(logger);
  try {
    const histogram = new Histogram(
      "work_seconds",
      "x",
      ["k"],
      [1],
      1e-6,
      pool,
      context,
    );
    for (let i = 0; i < 100; i++) {
      histogram.labels({ k: String(i % 2) }).observe(0.5);
    }
    // Answered by the main thread once each worker's load failed.
    for (const k of ["0", "1"]) {
      const snapshot = await histogram.labels({ k }).snapshot();
      assert.equal(snapshot.count, 50);
    }
    assert.equal(pool.restarts, 0);
    assert.ok(pool.status().every((w) => w.inThread && w.fallback));
    assert.equal(logger.records.length, 1, JSON.stringify(logger.records));
    assert.match(
      logger.records[0]!.message,
      /^Cannot load the aggregation worker: worker error: Uncaught .*Error: broken install: its shard aggregates on the main thread instead$/,
    );
  } finally {
    pool.close();
  }
});
