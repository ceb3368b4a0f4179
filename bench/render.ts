/**
 * Render: `metrics()` of 1,000 histogram series and 10,000 counter series
 * (about 24,000 lines), Vigil against prom-client, with the longest
 * main-thread task seen while rendering. A plain script, not `deno bench`:
 * the blocking figures need probes running on the same event loop as the
 * render.
 *
 * Run from the repository root with:
 *
 *     deno run --allow-read=src,workers bench/render.ts
 *
 * The read permission is for the aggregation workers, which load their
 * module graph (`workers/aggregator.ts`, `src/aggregation/`) from disk.
 * `--quick` (after the script's name) renders a few times only, to check
 * that the script works; its figures mean nothing.
 *
 * @module
 */
import * as promClient from "prom-client";
import { DEFAULT_BUCKETS, Registry } from "../src/metrics/mod.ts";
import {
  count,
  mean,
  ms,
  percentile,
  print,
  printCommand,
  printHeader,
  quick,
  requireWorkerReadAccess,
  SILENT,
  sleep,
  table,
  VALUES,
  verdict,
  yieldToLoop,
} from "./_helpers.ts";
import { TaskGapProbe, TimerLagProbe } from "./_probes.ts";

const COMMAND = "deno run --allow-read=src,workers bench/render.ts";

const HISTOGRAM_SERIES = 1000;
const OBSERVATIONS_PER_SERIES = 20;
const ROUTES = 100;
const STATUSES = 100;
/** Timed renders per library, after 5 warm-up ones. */
const RENDERS = quick(30, 3);
/** How long the task-gap probe runs on an idle loop, ms. */
const IDLE_MS = quick(1000, 100);
/** The targets: speed-up over prom-client, and the longest task, ms. */
const TARGET_SPEEDUP = 5;
const TARGET_TASK_MS = 5;

interface Render {
  library: string;
  lines: number;
  times: number[];
  /** The synchronous part of each `metrics()` call, ms. */
  syncParts: number[];
  /** The longest main-thread task during each render, ms. */
  longestTasks: number[];
  timerLagMax: number;
}

async function measureRender(
  library: string,
  render: () => Promise<string>,
  renders: number,
): Promise<Render> {
  const text = await render();
  const buckets = text.match(/^http_request_duration_seconds_bucket\{/gm);
  const counters = text.match(/^api_requests_total\{/gm);
  const expected = HISTOGRAM_SERIES * (DEFAULT_BUCKETS.length + 1);
  if (buckets?.length !== expected || counters?.length !== ROUTES * STATUSES) {
    throw new Error(
      `${library} renders ${buckets?.length} bucket and ${counters?.length} counter samples`,
    );
  }
  for (let i = 0; i < 5; i++) await render();

  const times: number[] = [];
  for (let i = 0; i < renders; i++) {
    const t0 = performance.now();
    await render();
    times.push(performance.now() - t0);
  }

  // Blocking, in a second pass so the probes do not slow the timed one:
  // the synchronous part of the metrics() call itself, and the longest
  // task the ping-pong saw during each render.
  const gaps = new TaskGapProbe();
  const timer = new TimerLagProbe();
  const syncParts: number[] = [];
  const longestTasks: number[] = [];
  gaps.start();
  timer.start();
  for (let i = 0; i < renders; i++) {
    await yieldToLoop();
    await gaps.bounce();
    gaps.maxGap = 0;
    const t0 = performance.now();
    const pending = render();
    syncParts.push(performance.now() - t0);
    await pending;
    // A render that never yields to a task is one long task: it counts
    // once the next bounce runs.
    await gaps.bounce();
    longestTasks.push(gaps.maxGap);
  }
  gaps.stop();
  const timerLagMax = Math.max(...timer.stop());
  return {
    library,
    lines: text.split("\n").length - 1,
    times,
    syncParts,
    longestTasks,
    timerLagMax,
  };
}

/** The ping-pong's own longest gap on an idle loop, over `ms`. */
async function idleTaskGap(ms: number): Promise<number> {
  const gaps = new TaskGapProbe();
  gaps.start();
  await sleep(ms);
  return gaps.stop();
}

async function measureRenders(renderCount: number): Promise<Render[]> {
  const routes = (i: number) => `/api/v1/resource_${i}`;
  const increment = (r: number, s: number) =>
    1 + ((r * 7919 + s * 104_729) % 100_000);

  const registry = new Registry({ logger: SILENT, cardinalityLimit: 20_000 });
  const histogram = registry.histogram({
    name: "http_request_duration_seconds",
    help: "Request latency",
    labelNames: ["route"],
  });
  const counter = registry.counter({
    name: "api_requests_total",
    help: "API requests served",
    labelNames: ["route", "status"],
  });

  const promRegistry = new promClient.Registry();
  const promHistogram = new promClient.Histogram({
    name: "http_request_duration_seconds",
    help: "Request latency",
    labelNames: ["route"],
    registers: [promRegistry],
  });
  const promCounter = new promClient.Counter({
    name: "api_requests_total",
    help: "API requests served",
    labelNames: ["route", "status"],
    registers: [promRegistry],
  });

  for (let i = 0; i < HISTOGRAM_SERIES; i++) {
    const child = histogram.labels({ route: routes(i) });
    const promChild = promHistogram.labels({ route: routes(i) });
    for (let j = 0; j < OBSERVATIONS_PER_SERIES; j++) {
      const value = VALUES[(i * OBSERVATIONS_PER_SERIES + j) & 4095]!;
      child.observe(value);
      promChild.observe(value);
    }
  }
  for (let r = 0; r < ROUTES; r++) {
    for (let s = 0; s < STATUSES; s++) {
      const labels = { route: routes(r), status: `${200 + s}` };
      counter.labels(labels).inc(increment(r, s));
      promCounter.labels(labels).inc(increment(r, s));
    }
  }

  const results = [
    await measureRender(
      "prom-client",
      () => promRegistry.metrics(),
      renderCount,
    ),
    await measureRender("vigil", () => registry.metrics(), renderCount),
  ];
  await registry.close();
  return results;
}

// --- main -------------------------------------------------------------------

requireWorkerReadAccess(COMMAND);
printHeader("Vigil render");

const results = await measureRenders(RENDERS);
const prom = results[0]!;
const vigil = results[1]!;
const idleGap = await idleTaskGap(IDLE_MS);
print(
  `## Render: ${count(HISTOGRAM_SERIES)} histogram series + ${
    count(ROUTES * STATUSES)
  } counter series`,
);
print();
print(
  `Wall time of \`await metrics()\` over ${RENDERS} renders after 5 warm-up ` +
    "ones. Blocking, in a second pass of renders: the synchronous part of " +
    "the `metrics()` call, and the longest main-thread task during a render " +
    "(largest gap between two bounces of a MessageChannel ping-pong; the " +
    `same probe on an idle loop for ${IDLE_MS / 1000} s: ${
      ms(idleGap)
    } ms), p50 and max ` +
    "over the renders. The 1 ms timer's max lag in that pass for comparison. " +
    "Vigil with default aggregation options.",
);
print();
print(table(
  [
    "library",
    "lines",
    "mean (ms)",
    "p50 (ms)",
    "p99 (ms)",
    "speed-up",
    "sync part of call, max (ms)",
    "longest task p50 (ms)",
    "longest task max (ms)",
    "1 ms timer max lag (ms)",
  ],
  results.map((r) => [
    r.library,
    count(r.lines),
    ms(mean(r.times)),
    ms(percentile(r.times, 0.5)),
    ms(percentile(r.times, 0.99)),
    r === vigil
      ? `${(mean(prom.times) / mean(vigil.times)).toFixed(1)}x`
      : "1x",
    ms(Math.max(...r.syncParts)),
    ms(percentile(r.longestTasks, 0.5)),
    ms(Math.max(...r.longestTasks)),
    ms(r.timerLagMax),
  ]),
));
print();

const speedup = mean(prom.times) / mean(vigil.times);
const longest = Math.max(...vigil.longestTasks);
print("## Targets");
print();
print(table(["target", "result", "verdict"], [
  [
    `render ≥ ${TARGET_SPEEDUP}x faster than prom-client`,
    `${speedup.toFixed(1)}x`,
    verdict(speedup >= TARGET_SPEEDUP),
  ],
  [
    `main-thread blocking ≤ ${TARGET_TASK_MS} ms during a render`,
    `longest task ${ms(longest)} ms max, ${
      ms(percentile(vigil.longestTasks, 0.5))
    } ms p50`,
    verdict(longest <= TARGET_TASK_MS),
  ],
]));
print();
printCommand(COMMAND);
