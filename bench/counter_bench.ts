/**
 * Counter benchmarks: Vigil against prom-client, as ratios from one run.
 *
 * - group "inc": 1000 increments of one series per iteration, so the
 *   harness's own ~10 ns per iteration does not swamp a ~1 ns operation;
 *   divide a time by 1000 for the cost of one call. Baseline: the same loop
 *   on a bare `Float64Array` slot. It is a reference point, not a floor: V8
 *   compiles a read-modify-write of a class field (which a bound child is)
 *   into a faster loop than one of a typed-array element, so a bound child
 *   can beat it.
 * - group "render 10k series": rendering a counter family of 10,000 label
 *   sets (100 routes x 100 statuses) as text. Baseline: prom-client.
 *
 * Run from the repository root with:
 *
 *     deno bench --allow-read=/proc/self bench/counter_bench.ts
 *
 * @module
 */
import * as promClient from "prom-client";
import { Registry } from "../src/metrics/mod.ts";

/** Increments per bench iteration in group "inc". */
const N = 1000;

/**
 * Increments of varying size (1, 1.25, ... 2.75), read as `values[i & 1023]`
 * so the JIT cannot fold the increment into a constant.
 */
const values = new Float64Array(1024);
for (let i = 0; i < values.length; i++) values[i] = 1 + (i % 8) * 0.25;

/** Every loop's result is added here, so no loop is dead code. */
let sink = 0;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

// --- group "inc" -------------------------------------------------------

const incRegistry = new Registry({ logger: silent });
const vigilChild = incRegistry
  .counter({
    name: "http_requests_total",
    help: "Requests",
    labelNames: ["method", "status"],
  })
  .labels({ method: "GET", status: "200" });
const vigilJobs = incRegistry.counter({ name: "jobs_total", help: "Jobs" });

const promIncRegistry = new promClient.Registry();
const promCounter = new promClient.Counter({
  name: "http_requests_total",
  help: "Requests",
  labelNames: ["method", "status"],
  registers: [promIncRegistry],
});
const promChild = promCounter.labels({ method: "GET", status: "200" });

const store = new Float64Array(16);
const slot = 3;

Deno.bench({
  name: "Float64Array store[i] += v x1000",
  group: "inc",
  baseline: true,
  fn() {
    for (let i = 0; i < N; i++) store[slot]! += values[i & 1023]!;
    sink += store[slot]!;
  },
});

Deno.bench({
  name: "vigil bound inc(v) x1000",
  group: "inc",
  fn() {
    for (let i = 0; i < N; i++) vigilChild.inc(values[i & 1023]!);
    sink += vigilChild.value;
  },
});

Deno.bench({
  name: "vigil unlabelled inc(v) x1000",
  group: "inc",
  fn() {
    for (let i = 0; i < N; i++) vigilJobs.inc(values[i & 1023]!);
    sink += vigilJobs.value;
  },
});

Deno.bench({
  name: "prom-client bound inc(v) x1000",
  group: "inc",
  async fn() {
    for (let i = 0; i < N; i++) promChild.inc(values[i & 1023]!);
    // prom-client has no synchronous value getter. Reading through get()
    // costs ~0.5 µs, under 1% of the 1000 increments.
    sink += (await promCounter.get()).values[0]!.value;
  },
});

// --- group "render 10k series" -----------------------------------------

const ROUTES = 100;
const STATUSES = 100;
const SERIES = ROUTES * STATUSES;

const renderRegistry = new Registry({
  cardinalityLimit: 20_000,
  logger: silent,
});
const vigilRequests = renderRegistry.counter({
  name: "api_requests_total",
  help: "API requests served",
  labelNames: ["route", "status"],
});

const promRenderRegistry = new promClient.Registry();
const promRequests = new promClient.Counter({
  name: "api_requests_total",
  help: "API requests served",
  labelNames: ["route", "status"],
  registers: [promRenderRegistry],
});

for (let r = 0; r < ROUTES; r++) {
  for (let s = 0; s < STATUSES; s++) {
    const labels = { route: `/api/v1/resource_${r}`, status: `${200 + s}` };
    // Integer counts of varying width, as real request counters hold.
    const count = 1 + ((r * 7919 + s * 104_729) % 100_000);
    vigilRequests.labels(labels).inc(count);
    promRequests.labels(labels).inc(count);
  }
}

// Guard the setup, not the results: a forgotten cardinality limit would
// fold most series into one overflow series and bench a much smaller output.
function checkSeries(library: string, text: string): void {
  const samples = text.match(/^api_requests_total\{/gm)?.length ?? 0;
  if (samples !== SERIES) {
    throw new Error(`${library} renders ${samples} series, not ${SERIES}`);
  }
}
checkSeries("vigil", await renderRegistry.metrics());
checkSeries("prom-client", await promRenderRegistry.metrics());

// Each render builds 0.7-1.5 MB of strings, so GC pauses land on some
// iterations and not others. A fixed 200 samples per bench (the harness
// would take ~30 of prom-client's ~30 ms render) keeps averages steadier.
const render = { group: "render 10k series", warmup: 20, n: 200 };

Deno.bench({
  name: "prom-client metrics()",
  ...render,
  baseline: true,
  async fn() {
    sink += (await promRenderRegistry.metrics()).length;
  },
});

Deno.bench({
  name: "vigil metrics()",
  ...render,
  async fn() {
    sink += (await renderRegistry.metrics()).length;
  },
});

Deno.bench({
  name: 'vigil metrics({ format: "openmetrics" })',
  ...render,
  async fn() {
    sink += (await renderRegistry.metrics({ format: "openmetrics" })).length;
  },
});

globalThis.addEventListener("unload", () => {
  if (!Number.isFinite(sink)) throw new Error(`sink is ${sink}`);
});
