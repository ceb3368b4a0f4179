/**
 * Ingestion parsing benchmarks: the pure layer of issue 13, as ratios from
 * one run.
 *
 * - group "statsd": one 10-line DogStatsD packet (counters, gauges, timers,
 *   a packed histogram, 2 tags each) per iteration; divide by 10 for the
 *   cost of a line. Baseline: counting `\n` in the same bytes, which is all
 *   a bare `node:dgram` receiver counting lines does per packet.
 * - group "mapping": mapping a name already in the cache (a glob rule and
 *   an unmapped timer). Baseline: a bare `Map.get` of the same name.
 * - group "push_text": parsing a 100-series text-format body (counters,
 *   gauges, a histogram and a summary, 2 labels each). Baseline: splitting
 *   the body into lines.
 *
 * Nothing needs a permission. Run from the repository root with:
 *
 *     deno bench --allow-read bench/ingest_bench.ts
 *
 * @module
 */
import { StatsdMapper } from "../src/ingest/mapping.ts";
import { parsePushText } from "../src/ingest/push_text.ts";
import { type StatsdLine, StatsdParser } from "../src/ingest/statsd.ts";

const LINES = [
  "api.requests:1|c|#env:prod,route:/users",
  "api.errors:1|c|@0.5|#env:prod,route:/users",
  "api.latency:12.5|ms|#env:prod,route:/users",
  "queue.depth:42|g|#env:prod,queue:emails",
  "queue.depth:-3|g|#env:prod,queue:emails",
  "payload.size:512:1024:2048|h|#env:prod,route:/upload",
  "db.query.time:3.25|ms|@0.1|#env:prod,table:users",
  "cache.hits:7|c|#env:prod,cache:sessions",
  "worker.busy:0.75|g|#env:prod,pool:io",
  "render.time:8|d|#env:prod,page:home",
];
const PACKET = new TextEncoder().encode(LINES.join("\n") + "\n");

let sink = 0;
const parser = new StatsdParser({
  line(line: StatsdLine) {
    sink += line.values.length + line.tagNames.length;
  },
  reject() {
    throw new Error("the bench packet must parse");
  },
});

Deno.bench("count newlines (baseline)", {
  group: "statsd",
  baseline: true,
}, () => {
  let lines = 0;
  for (let i = 0; i < PACKET.length; i++) if (PACKET[i] === 10) lines++;
  if (lines !== 10) throw new Error("10 lines expected");
});

Deno.bench("StatsdParser.parse(), 10 lines", { group: "statsd" }, () => {
  if (parser.parse(PACKET) !== 10) throw new Error("10 lines expected");
});

const mapper = new StatsdMapper({
  mappings: [
    { match: "api.*", name: "api_${1}_total", labels: { kind: "$1" } },
    { match: "db.*.time", name: "db_time_seconds", labels: { op: "$1" } },
  ],
});
mapper.map("db.query.time", "ms");
mapper.map("render.time", "d");
const plain = new Map([["db.query.time", 1]]);

Deno.bench("Map.get (baseline)", { group: "mapping", baseline: true }, () => {
  sink += plain.get("db.query.time")!;
});

Deno.bench("StatsdMapper.map(), cached glob match", {
  group: "mapping",
}, () => {
  sink += mapper.map("db.query.time", "ms").rule;
});

Deno.bench("StatsdMapper.map(), cached default", { group: "mapping" }, () => {
  sink += mapper.map("render.time", "d").rule;
});

function body(): string {
  const lines: string[] = [];
  let series = 0;
  for (let f = 0; f < 10; f++) {
    lines.push(`# HELP batch_items_${f}_total Items processed.`);
    lines.push(`# TYPE batch_items_${f}_total counter`);
    for (let s = 0; s < 4; s++, series++) {
      lines.push(
        `batch_items_${f}_total{stage="s${s}",shard="${f}"} ${f * 100 + s}`,
      );
    }
  }
  for (let f = 0; f < 10; f++) {
    lines.push(`# TYPE batch_gauge_${f} gauge`);
    for (let s = 0; s < 3; s++, series++) {
      lines.push(`batch_gauge_${f}{stage="s${s}",shard="${f}"} ${s}.5`);
    }
  }
  lines.push(
    "# HELP batch_seconds Duration.",
    "# TYPE batch_seconds histogram",
  );
  for (const le of ["0.1", "0.5", "1", "5", "10", "+Inf"]) {
    for (const job of ["a", "b"]) {
      lines.push(`batch_seconds_bucket{job="${job}",le="${le}"} 3`);
      series++;
    }
  }
  for (const job of ["a", "b"]) {
    lines.push(`batch_seconds_sum{job="${job}"} 1.5`);
    lines.push(`batch_seconds_count{job="${job}"} 3`);
    series += 2;
  }
  lines.push("# TYPE rpc_seconds summary");
  for (const q of ["0.5", "0.9", "0.99"]) {
    for (const job of ["a", "b"]) {
      lines.push(`rpc_seconds{job="${job}",quantile="${q}"} 0.2`);
      series++;
    }
  }
  lines.push('rpc_seconds_sum{job="a"} 1', 'rpc_seconds_count{job="a"} 1');
  series += 2;
  for (let i = series; i < 100; i++, series++) {
    lines.push(`untyped_${i}{job="x",kind="y"} ${i}`);
  }
  if (series !== 100) throw new Error(`100 series expected, got ${series}`);
  return lines.join("\n") + "\n";
}
const BODY = body();

Deno.bench(
  "split lines (baseline)",
  { group: "push_text", baseline: true },
  () => {
    sink += BODY.split("\n").length;
  },
);

Deno.bench("parsePushText(), 100 series", { group: "push_text" }, () => {
  sink += parsePushText(BODY).length;
});
