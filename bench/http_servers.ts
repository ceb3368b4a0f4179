/**
 * The servers `bench/http_load.sh` loads, one per process:
 *
 *     deno run -A bench/http_servers.ts bare <port>
 *     deno run -A bench/http_servers.ts vigil <port> <series>
 *     deno run -A bench/http_servers.ts vigil-registry <port> <series>
 *     deno run -A bench/http_servers.ts prom-client <port> <series>
 *
 * `bare` answers "ok" from a plain `Deno.serve` handler. `vigil` runs the
 * Vigil server from its embedded default config (process, runtime and HTTP
 * metrics, health checks), plus one counter family of `<series>` series.
 * `vigil-registry` serves a registry holding only those series, and
 * `prom-client` the same series from prom-client: the like-for-like pair.
 * Each prints "ready" once it listens.
 *
 * @module
 */
import * as promClient from "prom-client";
import { defaultConfig } from "../src/config/load.ts";
import { startVigil } from "../src/app.ts";
import { Registry } from "../src/metrics/registry.ts";
import { serve } from "../src/http/server.ts";

const [kind, portText, seriesText = "100"] = Deno.args;
const port = Number(portText);
const series = Number(seriesText);
const ready = () => console.log("ready");
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Label sets of the benchmark family: `series` routes x 1 status. */
function* labelSets(): Generator<{ route: string; status: string }> {
  for (let i = 0; i < series; i++) {
    yield { route: `/route/${i}`, status: String(200 + (i % 5)) };
  }
}

if (kind === "bare") {
  Deno.serve(
    { port, hostname: "127.0.0.1", onListen: ready },
    () => new Response("ok"),
  );
} else if (kind === "vigil") {
  const config = defaultConfig();
  const app = startVigil({
    ...config,
    server: { ...config.server, port, hostname: "127.0.0.1" },
    metrics: { ...config.metrics, cardinalityLimit: series + 1 },
  }, { logger: silent, onListen: ready });
  const counter = app.registry.counter({
    name: "bench_requests_total",
    help: "Benchmark series",
    labelNames: ["route", "status"],
  });
  for (const labels of labelSets()) counter.labels(labels).inc(3);
} else if (kind === "vigil-registry") {
  const registry = new Registry({
    logger: silent,
    cardinalityLimit: series + 1,
  });
  const counter = registry.counter({
    name: "bench_requests_total",
    help: "Benchmark series",
    labelNames: ["route", "status"],
  });
  for (const labels of labelSets()) counter.labels(labels).inc(3);
  serve({ registry, port, hostname: "127.0.0.1", onListen: ready });
} else if (kind === "prom-client") {
  const registry = new promClient.Registry();
  const counter = new promClient.Counter({
    name: "bench_requests_total",
    help: "Benchmark series",
    labelNames: ["route", "status"],
    registers: [registry],
  });
  for (const labels of labelSets()) counter.labels(labels).inc(3);
  Deno.serve(
    { port, hostname: "127.0.0.1", onListen: ready },
    async () =>
      new Response(await registry.metrics(), {
        headers: { "content-type": registry.contentType },
      }),
  );
} else {
  console.error(`Unknown server kind ${JSON.stringify(kind)}`);
  Deno.exit(2);
}
