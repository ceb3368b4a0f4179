/**
 * One case of `bench/scale.ts`, run in a process of its own so that its RSS
 * is clean: creates `series` series of one family of one kind, observes each
 * `observations` times, scrapes twice, and reports on standard output, one
 * JSON line per report, as it goes, so the parent can kill it over a memory
 * cap and still show what it reached. Not a benchmark itself.
 *
 *     deno run --allow-read=src,workers bench/_scale_child.ts <library> <kind> <series> <observations>
 *
 * @module
 */
import * as promClient from "prom-client";
import {
  type Counter,
  type DistributionChild,
  Registry,
} from "../src/metrics/mod.ts";
import { print, sample, yieldToLoop } from "./_helpers.ts";

/** The libraries compared. */
export const LIBRARIES = { vigil: "vigil", promClient: "prom-client" } as const;
/** A library compared. */
export type Library = typeof LIBRARIES[keyof typeof LIBRARIES];

/** The kinds of series measured. */
export const KINDS = {
  histogram: "histogram",
  summary: "summary",
  counter: "counter",
} as const;
/** A kind of series measured. */
export type Kind = typeof KINDS[keyof typeof KINDS];

/** The family each kind is registered as, the same in both libraries. */
export const FAMILY_NAMES: Readonly<Record<Kind, string>> = {
  histogram: "http_request_duration_seconds",
  summary: "http_request_duration_summary_seconds",
  counter: "http_requests_total",
};

/** Summary window, the same in both libraries. */
const QUANTILES = [0.5, 0.9, 0.99];
const MAX_AGE_SECONDS = 600;
const AGE_BUCKETS = 5;

/** Statuses a route is crossed with to make distinct label sets. */
const STATUSES = ["200", "201", "204", "301", "304", "400", "401", "404"];

/** Observations between two yields to the event loop (and, for Vigil, waits for its workers). */
const CHUNK = 65_536;
/** Series created between two yields to the event loop. */
const CREATE_CHUNK = 4_096;
/** How often RSS is reported while the child works, ms. */
const RSS_EVERY_MS = 250;

/** The child's memory figures, bytes. */
export interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
}

/** A phase the child reached, with the memory then. */
export interface PhaseReport {
  type: "phase";
  phase: "start" | "baseline" | "created" | "observed" | "scraped" | "done";
  /** ms since the child started. */
  at: number;
  memory: Memory;
}

/** The RSS now, sent every `RSS_EVERY_MS` while the event loop turns. */
export interface RssReport {
  type: "rss";
  at: number;
  rss: number;
}

/** What the child measured, sent once at the end. */
export interface ResultReport {
  type: "result";
  /** Creating the series, ms. */
  createMs: number;
  /** Observing (for Vigil, until the workers caught up), ms. */
  observeMs: number;
  firstScrapeMs: number;
  secondScrapeMs: number;
  /** Series the first scrape showed, and the sum of their counts. */
  firstSeries: number;
  firstCount: number;
  secondSeries: number;
  secondCount: number;
  /** Bytes of the first scrape's text. */
  textBytes: number;
  /** Vigil: `vigil_observations_dropped_total` after the second scrape. */
  dropped: number | null;
  /** Vigil: `vigil_worker_restarts_total` after the second scrape. */
  restarts: number | null;
  /** Vigil: shards that fell back to the main thread, and why. */
  fallbacks: string[] | null;
  /** Vigil: shards not answering their heartbeat at the end. */
  unresponsive: number | null;
  /** Vigil: errors and warnings logged, the first few. */
  logged: string[];
  loggedTotal: number;
}

/** Any line the child prints. */
export type Report = PhaseReport | RssReport | ResultReport;

/** Series i's label set: distinct for every i. */
function labelsOf(i: number): { route: string; status: string } {
  return {
    route: `/api/v1/resource_${Math.floor(i / STATUSES.length)}`,
    status: STATUSES[i % STATUSES.length]!,
  };
}

/** Latencies in seconds, log-uniform from 1 ms to 1 s. */
const SPREAD: Float64Array = (() => {
  const values = new Float64Array(65_536);
  let seed = 2463534242;
  for (let i = 0; i < values.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    values[i] = 1e-3 * Math.pow(1e3, seed / 2 ** 32);
  }
  return values;
})();

/**
 * Observation j of series i. Up to 500 observations a series take distinct
 * entries of `SPREAD` (131 * 500 < 65,536), so their values are distinct.
 */
const valueOf = (i: number, j: number): number =>
  SPREAD[(Math.imul(i, 40_503) + j * 131) & 65_535]!;

/** How one library does one kind: create, record, wait, scrape. */
interface Subject {
  create(i: number): void;
  record(i: number, value: number): void;
  /** Resolves once everything recorded so far is aggregated. */
  settle(): Promise<void>;
  scrape(): Promise<string>;
  /** Vigil only: its workers' figures, from the last scrape's text. */
  health(text: string): Pick<
    ResultReport,
    "dropped" | "restarts" | "fallbacks" | "unresponsive"
  >;
  close(): Promise<void>;
}

const NO_WORKERS = {
  dropped: null,
  restarts: null,
  fallbacks: null,
  unresponsive: null,
};

function vigilSubject(
  kind: Kind,
  series: number,
  logged: string[],
  counted: { total: number },
): Subject {
  const note = (message: string) => {
    counted.total++;
    if (logged.length < 5) logged.push(message);
  };
  const registry = new Registry({
    cardinalityLimit: 200_000,
    logger: {
      debug() {},
      info() {},
      warn: note,
      error: note,
    },
  });
  const labelNames = ["route", "status"] as const;
  const name = FAMILY_NAMES[kind];
  const help = "Requests by route and status";
  let counter: Counter<"route" | "status"> | undefined;
  let incs: ReturnType<Counter<"route" | "status">["labels"]>[] = [];
  let observe: (i: number, value: number) => void;
  let create: (i: number) => void;
  const children: DistributionChild[] = [];
  if (kind === "counter") {
    counter = registry.counter({ name, help, labelNames });
    incs = new Array(series);
    const c = counter;
    create = (i) => incs[i] = c.labels(labelsOf(i));
    observe = (i) => incs[i]!.inc();
  } else {
    const family = kind === "histogram"
      ? registry.histogram({ name, help, labelNames })
      : registry.summary({
        name,
        help,
        labelNames,
        quantiles: QUANTILES,
        maxAgeSeconds: MAX_AGE_SECONDS,
        ageBuckets: AGE_BUCKETS,
      });
    create = (i) => children[i] = family.labels(labelsOf(i));
    observe = (i, value) => children[i]!.observe(value);
  }
  return {
    create,
    record: (i, value) => observe(i, value),
    async settle() {
      // One series a shard: its figures come after every batch before it.
      const byShard = new Map<unknown, DistributionChild>();
      for (const child of children.slice(0, 256)) {
        byShard.set(child.placement.shard, child);
      }
      await Promise.all([...byShard.values()].map((c) => c.snapshot()));
    },
    scrape: () => registry.metrics(),
    health(text) {
      if (kind === "counter") return NO_WORKERS;
      const workers = registry.workers();
      return {
        dropped: sample(text, "vigil_observations_dropped_total"),
        restarts: sample(text, "vigil_worker_restarts_total"),
        fallbacks: workers.filter((w) => w.fallback).map((w) =>
          `shard ${w.index}: ${w.fallbackReason}`
        ),
        unresponsive: workers.filter((w) => !w.responsive).length,
      };
    },
    close: () => registry.close(),
  };
}

function promClientSubject(kind: Kind, series: number): Subject {
  const registry = new promClient.Registry();
  const labelNames = ["route", "status"];
  const name = FAMILY_NAMES[kind];
  const help = "Requests by route and status";
  let create: (i: number) => void;
  let observe: (i: number, value: number) => void;
  if (kind === "counter") {
    const counter = new promClient.Counter({
      name,
      help,
      labelNames,
      registers: [registry],
    });
    const children = new Array<ReturnType<typeof counter.labels>>(series);
    create = (i) => children[i] = counter.labels(labelsOf(i));
    observe = (i) => children[i]!.inc();
  } else if (kind === "histogram") {
    const histogram = new promClient.Histogram({
      name,
      help,
      labelNames,
      registers: [registry],
    });
    const children = new Array<ReturnType<typeof histogram.labels>>(series);
    create = (i) => children[i] = histogram.labels(labelsOf(i));
    observe = (i, value) => children[i]!.observe(value);
  } else {
    const summary = new promClient.Summary({
      name,
      help,
      labelNames,
      percentiles: QUANTILES,
      maxAgeSeconds: MAX_AGE_SECONDS,
      ageBuckets: AGE_BUCKETS,
      registers: [registry],
    });
    const children = new Array<ReturnType<typeof summary.labels>>(series);
    create = (i) => children[i] = summary.labels(labelsOf(i));
    observe = (i, value) => children[i]!.observe(value);
  }
  return {
    create,
    record: (i, value) => observe(i, value),
    settle: () => Promise.resolve(),
    scrape: () => registry.metrics(),
    health: () => NO_WORKERS,
    close: () => Promise.resolve(registry.clear()),
  };
}

/** Series in `text` of the family and the sum of their counts. */
function counts(text: string, kind: Kind): { series: number; total: number } {
  const sampleName = kind === "counter"
    ? FAMILY_NAMES.counter
    : `${FAMILY_NAMES[kind]}_count`;
  const pattern = new RegExp(`^${sampleName}\\{[^\\n]*\\} (\\S+)$`, "gm");
  let series = 0;
  let total = 0;
  for (const match of text.matchAll(pattern)) {
    series++;
    total += Number(match[1]);
  }
  return { series, total };
}

const memory = (): Memory => {
  const { rss, heapUsed, external } = Deno.memoryUsage();
  return { rss, heapUsed, external };
};

const started = performance.now();
const send = (report: Report) => print(JSON.stringify(report));
const phase = (name: PhaseReport["phase"]) =>
  send({
    type: "phase",
    phase: name,
    at: performance.now() - started,
    memory: memory(),
  });

async function run(
  library: Library,
  kind: Kind,
  series: number,
  observations: number,
): Promise<void> {
  phase("start");
  const ticker = setInterval(
    () =>
      send({
        type: "rss",
        at: performance.now() - started,
        rss: Deno.memoryUsage().rss,
      }),
    RSS_EVERY_MS,
  );
  const logged: string[] = [];
  const loggedCount = { total: 0 };
  const subject = library === "vigil"
    ? vigilSubject(kind, series, logged, loggedCount)
    : promClientSubject(kind, series);
  // The family exists and Vigil's workers have started and loaded.
  await subject.scrape();
  phase("baseline");

  let t0 = performance.now();
  for (let from = 0; from < series; from += CREATE_CHUNK) {
    const to = Math.min(series, from + CREATE_CHUNK);
    for (let i = from; i < to; i++) subject.create(i);
    await yieldToLoop();
  }
  const createMs = performance.now() - t0;
  phase("created");

  // Round robin, as traffic comes: round j observes every series once.
  t0 = performance.now();
  let pending = 0;
  for (let j = 0; j < observations; j++) {
    for (let i = 0; i < series; i++) {
      subject.record(i, valueOf(i, j));
      if (++pending === CHUNK) {
        pending = 0;
        await subject.settle();
        await yieldToLoop();
      }
    }
  }
  await subject.settle();
  const observeMs = performance.now() - t0;
  phase("observed");

  t0 = performance.now();
  const first = await subject.scrape();
  const firstScrapeMs = performance.now() - t0;
  phase("scraped");
  const firstCounts = counts(first, kind);
  const textBytes = first.length;

  t0 = performance.now();
  const second = await subject.scrape();
  const secondScrapeMs = performance.now() - t0;
  const secondCounts = counts(second, kind);
  const health = subject.health(second);
  await subject.close();
  clearInterval(ticker);
  send({
    type: "result",
    createMs,
    observeMs,
    firstScrapeMs,
    secondScrapeMs,
    firstSeries: firstCounts.series,
    firstCount: firstCounts.total,
    secondSeries: secondCounts.series,
    secondCount: secondCounts.total,
    textBytes,
    ...health,
    logged,
    loggedTotal: loggedCount.total,
  });
  phase("done");
}

if (import.meta.main) {
  const [library, kind, series, observations] = Deno.args;
  if (
    !Object.values(LIBRARIES).includes(library as Library) ||
    !Object.values(KINDS).includes(kind as Kind) ||
    !(Number(series) >= 1) || !(Number(observations) >= 1)
  ) {
    throw new TypeError(
      `Cannot run a scale case: expected <library> <kind> <series> <observations>, got ${
        JSON.stringify(Deno.args)
      }`,
    );
  }
  await run(
    library as Library,
    kind as Kind,
    Number(series),
    Number(observations),
  );
  // Nothing may keep the process alive: the parent waits for it to end.
  Deno.exit(0);
}
