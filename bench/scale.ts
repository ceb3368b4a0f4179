/**
 * Scale: what a series costs in RSS, and how long a scrape takes, at 1,000,
 * 10,000 and 100,000 series of one family (labels `{route, status}`) for
 * histograms (default buckets), summaries and counters, in Vigil and in
 * prom-client on the same registry shape: the benchmark of issue 8.
 *
 * Each case (library, kind, series, observations a series) runs in a
 * process of its own (`bench/_scale_child.ts`) so its RSS is clean. The
 * child reports RSS once its registry, family and (for Vigil) workers are
 * up, after creating and observing every series (Vigil: once its workers
 * caught up), and after the first scrape; the first and second scrape
 * times; whether the scrapes count every observation; and for Vigil its
 * workers' restarts and fallbacks. Observations are log-uniform from 1 ms to
 * 1 s, distinct within a series, made round robin over the series. RSS
 * growth is measured from the RSS with the family registered and no series:
 * once every series is observed (what the series hold; per-series targets
 * are judged on it, at the most series run) and after the first scrape
 * (with its text, and what the scrape left to collect).
 *
 * The parent kills a case that runs over `TIMEOUT_S` or whose RSS passes
 * `RSS_CAP_MB` (WebAssembly memory is outside V8's heap limit, so the cap
 * is watched, not configured), and skips a 100,000-series case its
 * 10,000-series case shows hopeless (ten times its time over the timeout,
 * or ten times its growth over the cap).
 *
 * Run from the repository root with:
 *
 *     deno run --allow-read=src,workers --allow-run bench/scale.ts
 *
 * The read permission is for the aggregation workers, which load their
 * module graph (`workers/aggregator.ts`, `src/aggregation/`) from disk; the
 * run permission starts the children (the same `deno`). `--quick` (after
 * the script's name) runs only 1,000 series, to check that the script
 * works; its figures mean nothing. `--kinds=histogram,summary` and
 * `--sizes=1000,10000` narrow a run.
 *
 * @module
 */
import {
  FAMILY_NAMES,
  type Kind,
  KINDS,
  LIBRARIES,
  type Library,
  type Memory,
  type PhaseReport,
  type Report,
  type ResultReport,
} from "./_scale_child.ts";
import {
  count,
  print,
  printCommand,
  printHeader,
  QUICK,
  quick,
  requireWorkerReadAccess,
  table,
  verdict,
} from "./_helpers.ts";

const COMMAND = "deno run --allow-read=src,workers --allow-run bench/scale.ts";

/** A case is killed after this long, seconds. */
const TIMEOUT_S = 120;
/** A case is killed once its RSS passes this, MB. */
const RSS_CAP_MB = 6144;
/** Cases not started by then are skipped, so the run ends in time, seconds. */
const BUDGET_S = 25 * 60;

/** Series counts measured. */
const SIZES: readonly number[] = option(
  "sizes",
  quick([1_000, 10_000, 100_000], [1_000]),
).map(Number);
/** Observations a series, for each kind. */
const OBSERVATIONS: Readonly<Record<Kind, readonly number[]>> = {
  histogram: quick([1, 8, 300], [1, 300]),
  summary: quick([1, 300], [1]),
  counter: [1],
};
const RUN_KINDS = option("kinds", Object.values(KINDS)) as Kind[];

const CHILD = `${import.meta.dirname}/_scale_child.ts`;
const CHILD_FLAGS = [
  "--allow-read=src,workers",
  "--no-prompt",
  "--cached-only",
  `--v8-flags=--max-old-space-size=${RSS_CAP_MB}`,
];

const MB = 1024 * 1024;

/** `--name=a,b` from the command line, or `fallback`. */
function option(
  name: string,
  fallback: readonly (string | number)[],
): string[] {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined
    ? fallback.map(String)
    : arg.slice(name.length + 3).split(",");
}

interface Case {
  library: Library;
  kind: Kind;
  series: number;
  observations: number;
}

interface Outcome extends Case {
  /** Why the case has no full result; undefined when it ran to the end. */
  failure: string | undefined;
  phases: Partial<Record<PhaseReport["phase"], PhaseReport>>;
  result: ResultReport | undefined;
  peakRss: number;
  /** Spawn to exit, ms. */
  wallMs: number;
}

/** Splits a byte stream into lines. */
async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    rest += text;
    let newline;
    while ((newline = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, newline);
      rest = rest.slice(newline + 1);
    }
  }
  if (rest !== "") yield rest;
}

async function runCase(c: Case): Promise<Outcome> {
  const outcome: Outcome = {
    ...c,
    failure: undefined,
    phases: {},
    result: undefined,
    peakRss: 0,
    wallMs: 0,
  };
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...CHILD_FLAGS,
      CHILD,
      c.library,
      c.kind,
      String(c.series),
      String(c.observations),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const kill = (reason: string) => {
    if (outcome.failure !== undefined) return;
    outcome.failure = reason;
    try {
      child.kill("SIGKILL");
    } catch (error) {
      // It exited between its last report and the kill: nothing to stop.
      if (!(error instanceof TypeError)) throw error;
    }
  };
  const timer = setTimeout(
    () => kill(`timed out after ${TIMEOUT_S} s`),
    TIMEOUT_S * 1000,
  );
  const stderr = new Response(child.stderr).text();
  for await (const line of lines(child.stdout)) {
    const report = JSON.parse(line) as Report;
    let rss: number | undefined;
    if (report.type === "phase") {
      outcome.phases[report.phase] = report;
      rss = report.memory.rss;
    } else if (report.type === "rss") {
      rss = report.rss;
    } else {
      outcome.result = report;
    }
    if (rss !== undefined) {
      outcome.peakRss = Math.max(outcome.peakRss, rss);
      if (rss > RSS_CAP_MB * MB) {
        kill(`killed: RSS ${mb(rss)} MB over the ${RSS_CAP_MB} MB cap`);
      }
    }
  }
  const status = await child.status;
  clearTimeout(timer);
  outcome.wallMs = performance.now() - t0;
  const errors = (await stderr).trim();
  if (outcome.failure === undefined && !status.success) {
    const last = errors.split("\n").findLast((l) => l.trim() !== "") ?? "";
    outcome.failure = `crashed (exit ${status.code}${
      status.signal === null ? "" : `, ${status.signal}`
    }): ${last.slice(0, 120)}`;
  }
  if (outcome.failure === undefined && outcome.result === undefined) {
    outcome.failure = "ended without a result";
  }
  if (outcome.result === undefined) {
    outcome.failure += `, ${reached(outcome)}`;
  }
  return outcome;
}

/** How far a case that failed got, and its RSS growth at the last phase. */
function reached(o: Outcome): string {
  const steps = [
    ["done", "after its scrapes", "at the end"],
    ["scraped", "during its second scrape", "after the first scrape"],
    ["observed", "during its first scrape", "after observing"],
    ["created", "while observing", "after creating series"],
    ["baseline", "while creating series", ""],
  ] as const;
  const step = steps.find(([phase]) => o.phases[phase] !== undefined);
  if (step === undefined) return "before its baseline";
  const [phase, doing, at] = step;
  const bytes = growth(o, phase);
  return phase === "baseline" || bytes === undefined
    ? doing
    : `${doing}; ${mb(bytes)} MB growth ${at}`;
}

// --- formatting ----------------------------------------------------------------

const mb = (bytes: number): string => (bytes / MB).toFixed(0);
const fixed = (value: number | undefined, digits: number): string =>
  value === undefined ? "–" : value.toFixed(digits);

/** RSS growth from the baseline to the latest phase reached, bytes. */
function growth(o: Outcome, phase: PhaseReport["phase"]): number | undefined {
  const base = o.phases.baseline?.memory;
  const at = o.phases[phase]?.memory;
  return base === undefined || at === undefined ? undefined : at.rss - base.rss;
}

/** Growth after the first scrape, per series, KB; undefined if not reached. */
function perSeriesKb(o: Outcome): number | undefined {
  const bytes = growth(o, "scraped");
  return bytes === undefined ? undefined : bytes / 1024 / o.series;
}

/**
 * Growth once every series is created and observed, before any scrape, per
 * series, KB: what the series hold. A scrape adds its text (about 1.2 KB a
 * histogram series) and the copies made of it on the way.
 */
function heldKb(o: Outcome): number | undefined {
  const bytes = growth(o, "observed");
  return bytes === undefined ? undefined : bytes / 1024 / o.series;
}

function exactness(o: Outcome): string {
  const r = o.result;
  if (r === undefined) return "–";
  const expected = o.series * o.observations;
  const ok = (series: number, total: number) =>
    series === o.series && total === expected;
  const first = ok(r.firstSeries, r.firstCount);
  const second = ok(r.secondSeries, r.secondCount);
  const dropped = r.dropped !== null && r.dropped > 0
    ? `, ${count(r.dropped)} dropped`
    : "";
  if (first && second) return `yes${dropped}`;
  return `**no**: ${count(r.firstCount)} / ${count(r.secondCount)} of ${
    count(expected)
  }${dropped}`;
}

function fallback(o: Outcome): string {
  const r = o.result;
  if (r === undefined || r.fallbacks === null) return "–";
  const parts = [...r.fallbacks];
  if (r.unresponsive !== null && r.unresponsive > 0) {
    parts.push(`${r.unresponsive} unresponsive`);
  }
  return parts.length === 0 ? "none" : parts.join("; ");
}

function row(o: Outcome): string[] {
  const r = o.result;
  const scraped = growth(o, "scraped");
  return [
    o.library,
    o.kind,
    count(o.series),
    String(o.observations),
    o.failure ?? "ok",
    fixed(heldKb(o), 2),
    scraped === undefined ? "–" : mb(scraped),
    fixed(perSeriesKb(o), 2),
    o.peakRss === 0 ? "–" : mb(o.peakRss),
    fixed(r?.firstScrapeMs, 1),
    fixed(r?.secondScrapeMs, 1),
    exactness(o),
    r?.restarts === null || r === undefined ? "–" : String(r.restarts),
    fallback(o),
  ];
}

function detailRow(o: Outcome): string[] {
  const r = o.result;
  const base = o.phases.baseline?.memory;
  const at = o.phases.scraped?.memory;
  const delta = (field: keyof Memory) =>
    base === undefined || at === undefined ? "–" : mb(at[field] - base[field]);
  const observed = growth(o, "observed");
  return [
    o.library,
    o.kind,
    count(o.series),
    String(o.observations),
    base === undefined ? "–" : mb(base.rss),
    fixed(r?.createMs, 0),
    fixed(r?.observeMs, 0),
    observed === undefined ? "–" : mb(observed),
    delta("rss"),
    delta("heapUsed"),
    delta("external"),
    r === undefined ? "–" : (r.textBytes / MB).toFixed(1),
    o.wallMs === 0 ? "–" : (o.wallMs / 1000).toFixed(1),
    r === undefined || r.loggedTotal === 0
      ? ""
      : `${r.loggedTotal}: ${r.logged[0]!.slice(0, 80)}`,
  ];
}

// --- targets --------------------------------------------------------------------

function find(
  outcomes: readonly Outcome[],
  match: Partial<Case>,
): Outcome[] {
  return outcomes.filter((o) =>
    Object.entries(match).every(([k, v]) => o[k as keyof Case] === v)
  );
}

/**
 * A target's verdict over `cases`: met when every case ran and passed,
 * missed (with the figures) otherwise.
 */
function judge(
  cases: readonly Outcome[],
  figure: (o: Outcome) => number | undefined,
  pass: (value: number, o: Outcome) => boolean,
  show: (value: number, o: Outcome) => string,
): [string, string] {
  if (cases.length === 0) return ["not run", "–"];
  let ok = true;
  const shown = cases.map((o) => {
    const value = figure(o);
    if (value === undefined || !Number.isFinite(value)) {
      ok = false;
      return `${count(o.series)} × ${o.observations}: ${
        o.failure ?? "no figure to compare"
      }`;
    }
    if (!pass(value, o)) ok = false;
    return `${count(o.series)} × ${o.observations}: ${show(value, o)}`;
  });
  return [verdict(ok), shown.join("; ")];
}

function targets(outcomes: readonly Outcome[]): string[][] {
  // Per-series memory is judged at the most series run, where the fixed
  // costs (the batch rings, the first pages of the heaps) weigh least; the
  // after-scrape figure is shown beside it.
  const vigil = (kind: Kind, observations: number) => {
    const cases = find(outcomes, { library: "vigil", kind, observations });
    const most = Math.max(0, ...cases.map((o) => o.series));
    return cases.filter((o) => o.series === most);
  };
  const kb = (v: number, o: Outcome) =>
    `${v.toFixed(2)} KB held (${fixed(perSeriesKb(o), 2)} KB after a scrape)`;
  const spread = [8, 300];
  const rows: string[][] = [];
  const push = (target: string, [result, figures]: [string, string]) =>
    rows.push([target, result, figures]);
  push(
    "histogram series, default buckets, 300 distinct values: ≤ 4 KB RSS",
    judge(vigil("histogram", 300), heldKb, (v) => v <= 4, kb),
  );
  push(
    "summary series, 300 distinct values: ≤ 16 KB RSS",
    judge(vigil("summary", 300), heldKb, (v) => v <= 16, kb),
  );
  push(
    "counter series: < 1.5 KB RSS",
    judge(vigil("counter", 1), heldKb, (v) => v < 1.5, kb),
  );
  push(
    "100,000 histogram series: < 1 GB peak RSS in all",
    judge(
      find(outcomes, { library: "vigil", kind: "histogram", series: 100_000 }),
      (o) => (o.result === undefined ? undefined : o.peakRss),
      (v) => v < 1024 * MB,
      (v) => `${mb(v)} MB`,
    ),
  );
  const spreadTenK = (library: Library) =>
    spread.flatMap((observations) =>
      find(outcomes, {
        library,
        kind: "histogram",
        series: QUICK ? 1_000 : 10_000,
        observations,
      })
    );
  const promFor = (o: Outcome) =>
    find(outcomes, {
      library: "prom-client",
      kind: o.kind,
      series: o.series,
      observations: o.observations,
    })[0]?.result;
  const ratio = (o: Outcome) => {
    const prom = promFor(o);
    const r = o.result;
    if (prom === undefined || r === undefined) return undefined;
    return Math.min(
      prom.firstScrapeMs / r.firstScrapeMs,
      prom.secondScrapeMs / r.secondScrapeMs,
    );
  };
  push(
    "10,000 histogram series, spread values: both scrapes ≥ 3x faster than prom-client's",
    judge(
      spreadTenK("vigil"),
      ratio,
      (v) => v >= 3,
      (v, o) =>
        `${v.toFixed(2)}x at worst (${fixed(o.result?.firstScrapeMs, 0)} / ${
          fixed(o.result?.secondScrapeMs, 0)
        } ms against ${fixed(promFor(o)?.firstScrapeMs, 0)} / ${
          fixed(promFor(o)?.secondScrapeMs, 0)
        } ms)`,
    ),
  );
  push(
    "10,000 histogram series, spread values: first scrape < 200 ms",
    judge(
      spreadTenK("vigil"),
      (o) => o.result?.firstScrapeMs,
      (v) => v < 200,
      (v) => `${v.toFixed(0)} ms`,
    ),
  );
  return rows;
}

// --- main -------------------------------------------------------------------------

requireWorkerReadAccess(COMMAND);
printHeader("Vigil at scale: RSS and scrape time by series");
printCommand([COMMAND, ...Deno.args].join(" "));
print();

const cases: Case[] = [];
for (const kind of RUN_KINDS) {
  for (const observations of OBSERVATIONS[kind]) {
    for (const series of SIZES) {
      for (const library of Object.values(LIBRARIES)) {
        cases.push({ library, kind, series, observations });
      }
    }
  }
}

const runStart = performance.now();
const outcomes: Outcome[] = [];
for (const c of cases) {
  const skip = skipReason(c);
  const outcome: Outcome = skip === undefined ? await runCase(c) : {
    ...c,
    failure: skip,
    phases: {},
    result: undefined,
    peakRss: 0,
    wallMs: 0,
  };
  outcomes.push(outcome);
  console.error(
    `${c.library} ${c.kind} ${c.series} × ${c.observations}: ${
      outcome.failure ?? "ok"
    } (${(outcome.wallMs / 1000).toFixed(1)} s)`,
  );
}
const runSeconds = (performance.now() - runStart) / 1000;

/**
 * Why `c` is not worth running today: the run is out of time, or its case
 * with a tenth of the series failed or scales past the limits.
 */
function skipReason(c: Case): string | undefined {
  const elapsed = (performance.now() - runStart) / 1000;
  if (elapsed > BUDGET_S) {
    return `skipped: the run's ${BUDGET_S / 60}-minute budget is spent`;
  }
  const smaller = find(outcomes, { ...c, series: c.series / 10 })[0];
  if (smaller === undefined) return undefined;
  if (smaller.failure !== undefined) {
    return `skipped: the ${count(smaller.series)}-series case failed`;
  }
  const base = smaller.phases.baseline?.at ?? 0;
  const done = smaller.phases.done?.at ?? 0;
  const seconds = 10 * (done - base) / 1000;
  if (seconds > TIMEOUT_S) {
    return `skipped: would take > ${seconds.toFixed(0)} s today`;
  }
  const bytes = 10 * (growth(smaller, "scraped") ?? 0);
  if (bytes > RSS_CAP_MB * MB) {
    return `skipped: would need > ${mb(bytes)} MB RSS today`;
  }
  return undefined;
}

print("## RSS and scrape time");
print();
print(
  `One family of each kind, labels \`{route, status}\`, every series ` +
    "observed the given number of times with values log-uniform from 1 ms " +
    "to 1 s (distinct within a series); each case in its own process. RSS " +
    "growth from the RSS with the family registered and no series (Vigil's " +
    "workers started): held, once every series is created and observed, " +
    "before any scrape (what the series hold); after scrape, with the " +
    "first scrape's text still referenced (about 1.2 KB a histogram series " +
    "in both libraries) and what the scrape left to collect. Per-series " +
    "targets are judged on the held figure at the most series run. Peak: the highest " +
    "RSS the case reported, baseline included. Scrapes: " +
    "`await registry.metrics()` / `await register.metrics()`, the second " +
    "right after the first. Exact: both scrapes show every series and " +
    "every observation. Restarts: `vigil_worker_restarts_total` after the " +
    `second scrape. A case is killed after ${TIMEOUT_S} s or past ` +
    `${RSS_CAP_MB} MB RSS.`,
);
print();
print(table(
  [
    "library",
    "kind",
    "series",
    "obs/series",
    "status",
    "held per series (KB)",
    "RSS growth after scrape (MB)",
    "per series after scrape (KB)",
    "peak RSS (MB)",
    "first scrape (ms)",
    "second scrape (ms)",
    "exact",
    "restarts",
    "fallback",
  ],
  outcomes.map(row),
));
print();
print("## Targets (issue 8)");
print();
print(table(["target", "result", "figures"], targets(outcomes)));
print();
print("## Where the time and memory go");
print();
print(
  "Baseline: RSS with the family registered and no series. Create: " +
    "`labels()` for every series. Observe: every observation, and for " +
    "Vigil until its workers applied them. RSS growth after observing and " +
    "after the first scrape; main-thread JS heap and external memory " +
    "growth to the first scrape (Vigil's workers and WebAssembly memory " +
    "show only in RSS). Text: the first scrape's exposition. Wall: the " +
    "child process, start to exit. Logged: Vigil's errors and warnings.",
);
print();
print(table(
  [
    "library",
    "kind",
    "series",
    "obs/series",
    "baseline RSS (MB)",
    "create (ms)",
    "observe (ms)",
    "RSS after observing (MB)",
    "RSS after scrape (MB)",
    "main heap (MB)",
    "main external (MB)",
    "text (MB)",
    "wall (s)",
    "logged",
  ],
  outcomes.map(detailRow),
));
print();
print(
  `Whole run: ${runSeconds.toFixed(0)} s, ${outcomes.length} ` +
    `cases. Families: ${Object.values(FAMILY_NAMES).join(", ")}.`,
);
