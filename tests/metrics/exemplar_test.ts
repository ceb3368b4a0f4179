// Histogram exemplars: an observation made with its trace is carried to the
// worker in the batch ring, kept as its bucket's latest exemplar, written
// only in OpenMetrics, read by the Python OpenMetrics parser, and stored by a
// real Prometheus with exemplar storage on.
import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import { serve } from "../../src/http/server.ts";
import {
  ignoreWithoutPromtool,
  ignoreWithoutPython,
  parseOpenMetrics,
  recordingLogger,
} from "../_tools.ts";

const TRACE_A = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
};
const TRACE_B = {
  traceId: "0af7651916cd43dd8448eb211c80319c",
  spanId: "b7ad6b7169203331",
};

function bucketLines(text: string, name: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(`${name}_bucket`));
}

Deno.test("observeWithTrace() keeps the latest trace of each bucket, in OpenMetrics only", async () => {
  const registry = new Registry({ logger: recordingLogger() });
  try {
    const latency = registry.histogram({
      name: "req_seconds",
      help: "Requests",
      labelNames: ["route"],
      buckets: [0.1, 1],
    });
    const child = latency.labels({ route: "/a" });
    child.observeWithTrace(0.05, TRACE_A);
    child.observeWithTrace(0.5, TRACE_A);
    child.observeWithTrace(0.7, TRACE_B); // the same bucket: the latest wins
    child.observe(3); // no trace: +Inf keeps none
    child.observeWithTrace(0.2); // no active span: a plain observation
    const om = await registry.metrics({ format: "openmetrics" });
    const lines = bucketLines(om, "req_seconds");
    assert.equal(lines.length, 3);
    assert.match(
      lines[0]!,
      /^req_seconds_bucket\{route="\/a",le="0\.1"\} 1\.0 # \{trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"\} 0\.05 \d+\.\d+$/,
    );
    assert.match(
      lines[1]!,
      /^req_seconds_bucket\{route="\/a",le="1\.0"\} 4\.0 # \{trace_id="0af7651916cd43dd8448eb211c80319c",span_id="b7ad6b7169203331"\} 0\.7 \d+\.\d+$/,
    );
    assert.equal(lines[2], 'req_seconds_bucket{route="/a",le="+Inf"} 5.0');
    // Prometheus text 0.0.4 has no exemplars.
    const text = await registry.metrics();
    assert.doesNotMatch(text, /trace_id/);
    assert.equal((await child.snapshot()).count, 5);
    assert.throws(
      () => child.observeWithTrace(1, { traceId: "xyz", spanId: "1" }),
      RangeError,
    );
  } finally {
    await registry.close();
  }
});

Deno.test({
  name: "the Python OpenMetrics parser reads the exemplars",
  ignore: await ignoreWithoutPython(),
  fn: async () => {
    const registry = new Registry({ logger: recordingLogger() });
    try {
      const latency = registry.histogram({
        name: "job_seconds",
        help: "Jobs",
        buckets: [1],
      });
      latency.observeWithTrace(0.25, TRACE_A);
      const families = await parseOpenMetrics(
        await registry.metrics({ format: "openmetrics" }),
      );
      const bucket = families.find((f) => f.name === "job_seconds")!.samples
        .find((s) => s.labels.le === "1.0");
      assert.deepEqual(bucket?.exemplar?.labels, {
        trace_id: TRACE_A.traceId,
        span_id: TRACE_A.spanId,
      });
      assert.equal(bucket?.exemplar?.value, 0.25);
      assert.equal(typeof bucket?.exemplar?.timestamp, "number");
    } finally {
      await registry.close();
    }
  },
});

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test({
  name:
    "a real Prometheus with exemplar storage scrapes them and answers query_exemplars with the trace id",
  // promtool and prometheus come from the same Debian package.
  ignore: await ignoreWithoutPromtool(),
  fn: async () => {
    const registry = new Registry({ logger: recordingLogger() });
    const server = serve({
      registry,
      port: 0,
      hostname: "127.0.0.1",
      onListen: () => {},
    });
    const directory = await Deno.makeTempDir({ prefix: "vigil-prom-" });
    const webPort = freePort();
    await Deno.writeTextFile(
      `${directory}/prometheus.yml`,
      `global: { scrape_interval: 1s }
scrape_configs:
  - job_name: vigil
    static_configs: [{ targets: ["127.0.0.1:${server.addr.port}"] }]
`,
    );
    const latency = registry.histogram({
      name: "checkout_seconds",
      help: "Checkout latency",
      buckets: [0.5, 1],
    });
    latency.observeWithTrace(0.3, TRACE_B);
    const prometheus = new Deno.Command("prometheus", {
      args: [
        `--config.file=${directory}/prometheus.yml`,
        `--storage.tsdb.path=${directory}/data`,
        `--web.listen-address=127.0.0.1:${webPort}`,
        "--enable-feature=exemplar-storage",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      let found: unknown;
      // Bounded: up to 30 s for the first scrapes.
      for (let attempt = 0; attempt < 60 && found === undefined; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const now = Date.now() / 1000;
        try {
          const response = await fetch(
            `http://127.0.0.1:${webPort}/api/v1/query_exemplars?query=checkout_seconds_bucket&start=${
              now - 600
            }&end=${now + 60}`,
          );
          const body = await response.json();
          const exemplars = body.data?.flatMap((
            series: { exemplars: unknown[] },
          ) => series.exemplars) ?? [];
          if (exemplars.length > 0) found = exemplars[0];
        } catch {
          // Not up yet.
        }
      }
      assert.ok(found !== undefined, "Prometheus stored no exemplar");
      const exemplar = found as {
        labels: Record<string, string>;
        value: string;
      };
      assert.equal(exemplar.labels.trace_id, TRACE_B.traceId);
      assert.equal(exemplar.labels.span_id, TRACE_B.spanId);
      assert.equal(Number(exemplar.value), 0.3);
    } finally {
      prometheus.kill("SIGTERM");
      await prometheus.stderr.cancel();
      await prometheus.status;
      await server.shutdown();
      await registry.close();
      await Deno.remove(directory, { recursive: true });
    }
  },
});

Deno.test("incWithTrace() keeps a counter's latest exemplar, in OpenMetrics only", async () => {
  const registry = new Registry({
    logger: recordingLogger(),
    now: () => 1_700_000_000_500,
  });
  try {
    const orders = registry.counter({
      name: "orders_total",
      help: "Orders",
      labelNames: ["kind"],
    });
    const child = orders.labels({ kind: "web" });
    child.incWithTrace(2, TRACE_A);
    child.inc(); // a plain increment keeps the exemplar
    child.incWithTrace(); // no active span: a plain increment
    const om = await registry.metrics({ format: "openmetrics" });
    assert.match(
      om,
      /^orders_total\{kind="web"\} 4\.0 # \{trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"\} 2\.0 1700000000\.5$/m,
    );
    assert.doesNotMatch(await registry.metrics(), /trace_id/);
    assert.throws(
      () => child.incWithTrace(1, { traceId: "no", spanId: "no" }),
      RangeError,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("observeWithTrace() on a summary counts the value, and with batches too short for the record it observes without the trace", async () => {
  const registry = new Registry({
    logger: recordingLogger(),
    aggregation: { workers: 1, batchSize: 4 },
  });
  try {
    const summary = registry.summary({ name: "wait_seconds", help: "Wait" });
    summary.observe(1);
    summary.observeWithTrace(2, TRACE_A);
    summary.observeWithTrace(3, TRACE_B);
    assert.equal((await summary.snapshot()).count, 3);
    const latency = registry.histogram({
      name: "tiny_seconds",
      help: "Tiny batches",
      buckets: [1],
    });
    latency.observeWithTrace(0.5, TRACE_A);
    latency.observe(0.5);
    assert.equal((await latency.snapshot()).count, 2);
  } finally {
    await registry.close();
  }
});
