/**
 * Timer lag: how late a chained 1 ms `setTimeout` fires on the main thread
 * while it records 5 million histogram observations a second, against no
 * recording and against prom-client. A plain script, not `deno bench`: the
 * figure needs a paced producer and a concurrent probe on one event loop.
 *
 * Run from the repository root with:
 *
 *     deno run --allow-read=src,workers bench/timer_lag.ts
 *
 * The read permission is for the aggregation workers, which load their
 * module graph (`workers/aggregator.ts`, `src/aggregation/`) from disk.
 * `--quick` (after the script's name) shortens every run, to check that the
 * script works; its figures mean nothing.
 *
 * @module
 */
import * as promClient from "prom-client";
import { Registry } from "../src/metrics/mod.ts";
import {
  mps,
  ms,
  percentile,
  print,
  printCommand,
  printHeader,
  quick,
  record,
  requireWorkerReadAccess,
  sample,
  SERIES,
  signedMs,
  SILENT,
  table,
  VALUES,
  verdict,
} from "./_helpers.ts";
import { TimerLagProbe } from "./_probes.ts";

const COMMAND = "deno run --allow-read=src,workers bench/timer_lag.ts";

/** Observations recorded per second. */
const RATE = 5_000_000;
/** Seconds each scenario runs. */
const SECONDS = quick(5, 0.5);
/** The target: Vigil's p99 lag at most this much above idle, ms. */
const TARGET_MS = 2;

interface Lag {
  scenario: string;
  target: number;
  achieved: number;
  lags: number[];
  check: string;
}

/**
 * Runs the lag probe for `seconds` while `observe(from, to)` is fed at
 * `target` per second from its own chained 1 ms timer. A tick records what
 * the pace owes, at most 5 ms worth, so a recorder that cannot keep up
 * falls behind instead of blocking the loop for ever.
 */
async function lagRun(
  scenario: string,
  target: number,
  seconds: number,
  observe: ((from: number, to: number) => void) | undefined,
): Promise<{ lag: Omit<Lag, "check">; recorded: number }> {
  const probe = new TimerLagProbe();
  const perMs = target / 1000;
  const maxChunk = Math.max(1, Math.round(perMs * 5));
  let done = 0;
  const start = performance.now();
  probe.start();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now - start >= seconds * 1000) return resolve();
      if (observe !== undefined) {
        const due = Math.min(done + maxChunk, Math.ceil((now - start) * perMs));
        if (due > done) {
          observe(done, due);
          done = due;
        }
      }
      setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
  });
  const elapsed = performance.now() - start;
  const lags = probe.stop();
  return {
    lag: { scenario, target, achieved: done / (elapsed / 1000), lags },
    recorded: done,
  };
}

async function timerLag(rate: number, seconds: number): Promise<Lag[]> {
  const results: Lag[] = [];
  const idle = await lagRun("idle (no recording)", 0, seconds, undefined);
  results.push({ ...idle.lag, check: "-" });

  {
    const registry = new Registry({ logger: SILENT });
    const latency = registry.histogram({
      name: "latency_seconds",
      help: "Latency",
      labelNames: ["route"],
    });
    const children = Array.from(
      { length: SERIES },
      (_, i) => latency.labels({ route: `/r${i}` }),
    );
    await Promise.all(children.map((child) => child.snapshot()));
    const run = await lagRun(
      "vigil, bound child observe()",
      rate,
      seconds,
      (from, to) => record(children, from, to),
    );
    const snapshots = await Promise.all(children.map((c) => c.snapshot()));
    const counted = snapshots.reduce((total, s) => total + s.count, 0);
    const text = await registry.metrics();
    const dropped = sample(text, "vigil_observations_dropped_total");
    await registry.close();
    results.push({
      ...run.lag,
      check: `count ${counted === run.recorded ? "exact" : "WRONG"}, ${
        dropped === 0 ? "0 dropped" : `${dropped} DROPPED`
      }`,
    });
  }

  {
    const registry = new promClient.Registry();
    const latency = new promClient.Histogram({
      name: "latency_seconds",
      help: "Latency",
      labelNames: ["route"],
      registers: [registry],
    });
    const children = Array.from(
      { length: SERIES },
      (_, i) => latency.labels({ route: `/r${i}` }),
    );
    const run = await lagRun(
      "prom-client, bound child observe()",
      rate,
      seconds,
      (from, to) => {
        for (let i = from; i < to; i++) {
          children[i & (SERIES - 1)]!.observe(VALUES[i & 4095]!);
        }
      },
    );
    const values = (await latency.get()).values;
    const counted = values
      .filter((v) => v.metricName === "latency_seconds_count")
      .reduce((total, v) => total + v.value, 0);
    results.push({
      ...run.lag,
      check: `count ${counted === run.recorded ? "exact" : "WRONG"}`,
    });
  }
  return results;
}

// --- main -------------------------------------------------------------------

requireWorkerReadAccess(COMMAND);
printHeader("Vigil timer lag while recording");

const lags = await timerLag(RATE, SECONDS);
const idleP99 = percentile(lags[0]!.lags, 0.99);
print(
  `## Main-thread timer lag while recording ${
    mps(RATE)
  } M obs/s for ${SECONDS} s`,
);
print();
print(
  "Lag: how much later than asked a chained setTimeout(…, 1) fired. Recorder: " +
    "its own 1 ms timer chain, each tick recording what the pace owes (at most " +
    "5 ms worth). Vigil with default aggregation options " +
    `(${
      Math.max(1, navigator.hardwareConcurrency - 1)
    } worker), ${SERIES} series.`,
);
print();
print(table(
  [
    "scenario",
    "achieved (M obs/s)",
    "lag p50 (ms)",
    "lag p99 (ms)",
    "lag max (ms)",
    "p99 − idle p99 (ms)",
    "check",
  ],
  lags.map((l) => [
    l.scenario,
    l.target === 0 ? "-" : mps(l.achieved),
    ms(percentile(l.lags, 0.5)),
    ms(percentile(l.lags, 0.99)),
    ms(Math.max(...l.lags)),
    l.target === 0 ? "-" : signedMs(percentile(l.lags, 0.99) - idleP99),
    l.check,
  ]),
));
print();

const vigil = lags[1]!;
const lagDelta = percentile(vigil.lags, 0.99) - idleP99;
print("## Target");
print();
print(table(["target", "result", "verdict"], [[
  `timer-lag p99 within ${TARGET_MS} ms of idle at ${RATE / 1e6} M obs/s`,
  `${signedMs(lagDelta)} ms (${vigil.check})`,
  verdict(
    lagDelta <= TARGET_MS && vigil.achieved >= RATE * 0.99 &&
      vigil.check === "count exact, 0 dropped",
  ),
]]));
print();
printCommand(COMMAND);
