import assert from "node:assert/strict";
import dgram from "node:dgram";
import { Registry } from "../../src/metrics/registry.ts";
import {
  startStatsd,
  type StatsdOptions,
  type StatsdServer,
} from "../../src/ingest/statsd_server.ts";

const HOST = "127.0.0.1";
const encoder = new TextEncoder();

async function sendUdp(port: number, ...packets: string[]): Promise<void> {
  const socket = dgram.createSocket("udp4");
  // Bound on loopback: the tests may not bind 0.0.0.0, as send() would.
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  try {
    for (const packet of packets) {
      await new Promise<void>((resolve, reject) =>
        socket.send(packet, port, HOST, (error) => {
          if (error) reject(error);
          else resolve();
        })
      );
    }
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

async function sendTcp(port: number, ...writes: string[]): Promise<void> {
  const conn = await Deno.connect({ hostname: HOST, port });
  try {
    for (const write of writes) await conn.write(encoder.encode(write));
  } finally {
    conn.close();
  }
}

/** Waits until `lines` lines are counted (bounded tries), then checks the count. */
async function counted(server: StatsdServer, lines: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { accepted, rejected } = server.stats();
    if (accepted + rejected >= lines) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const { accepted, rejected } = server.stats();
  assert.equal(accepted + rejected, lines, "every line counted once");
}

async function withServer(
  options: StatsdOptions & { cardinalityLimit?: number },
  body: (server: StatsdServer, registry: Registry) => Promise<void>,
): Promise<void> {
  const { cardinalityLimit, ...rest } = options;
  const registry = new Registry(
    cardinalityLimit === undefined ? {} : { cardinalityLimit },
  );
  const server = await startStatsd(registry, { port: 0, ...rest });
  try {
    await body(server, registry);
  } finally {
    await server.close();
    await registry.close();
  }
}

function sample(text: string, line: string): void {
  assert.ok(
    text.split("\n").includes(line),
    `expected the line ${line} in:\n${text}`,
  );
}

function rejected(
  text: string,
  reason: string,
  count: number,
  defaults = "",
): void {
  sample(
    text,
    `vigil_ingest_lines_rejected_total{${defaults}protocol="statsd",reason="${reason}"} ${count}`,
  );
}

Deno.test("startStatsd() records every StatsD type over UDP", async () => {
  await withServer({}, async (server, registry) => {
    await sendUdp(
      server.port,
      "jobs.done:3|c\nqueue.depth:7|g\ndb.query:250|ms\npayload:512|h\nrender:8|d\nusers:alice|s",
    );
    await counted(server, 6);
    const text = await registry.metrics();
    sample(text, "jobs_done_total 3");
    sample(text, "queue_depth 7");
    sample(text, "db_query_seconds_sum 0.25");
    sample(text, 'db_query_seconds_bucket{le="0.25"} 1');
    sample(text, "payload_count 1");
    sample(text, "payload_sum 512");
    sample(text, "render_sum 8");
    sample(text, "users 1");
    sample(text, 'vigil_ingest_lines_total{protocol="statsd"} 6');
    assert.deepEqual(server.stats(), { accepted: 6, rejected: 0 });
  });
});

Deno.test("startStatsd() scales by the sample rate as statsd_exporter does", async () => {
  await withServer({}, async (server, registry) => {
    await sendUdp(
      server.port,
      // Counter: 1 / 0.25 = 4; timer: floor(1 / 0.1) = 10 copies; timer:
      // floor(1 / 0.3) = 3 copies; gauge: the rate is ignored.
      "hits:1|c|@0.25\nlat:125|ms|@0.1\nslow:1000|ms|@0.3\nlevel:5|g|@0.5",
    );
    await counted(server, 4);
    const text = await registry.metrics();
    sample(text, "hits_total 4");
    sample(text, "lat_seconds_count 10");
    sample(text, "lat_seconds_sum 1.25");
    sample(text, "slow_seconds_count 3");
    sample(text, "level 5");
  });
});

Deno.test("startStatsd() applies signed gauge values as deltas", async () => {
  await withServer({}, async (server, registry) => {
    await sendUdp(server.port, "g:10|g\ng:+5|g\ng:-3|g");
    await counted(server, 3);
    sample(await registry.metrics(), "g 12");
    await sendUdp(server.port, "g:4|g");
    await counted(server, 4);
    sample(await registry.metrics(), "g 4");
  });
});

Deno.test("startStatsd() turns DogStatsD tags into sorted labels", async () => {
  await withServer({}, async (server, registry) => {
    await sendUdp(
      server.port,
      "api.calls:1|c|#route:/users,http.method:GET\napi.calls:2|c|#http.method:GET,route:/users\napi.calls:1|c|#route:/items,http.method:POST",
    );
    await counted(server, 3);
    const text = await registry.metrics();
    sample(text, 'api_calls_total{http_method="GET",route="/users"} 3');
    sample(text, 'api_calls_total{http_method="POST",route="/items"} 1');
  });
});

Deno.test("startStatsd() maps names with glob rules and captures", async () => {
  await withServer({
    mappings: [
      {
        match: "api.*.requests",
        name: "api_requests_total",
        labels: { endpoint: "$1" },
      },
      {
        match: "job.*.duration",
        name: "job_duration_seconds",
        labels: { job: "$1" },
        observer: "summary",
      },
      { match: "noise.*", name: "noise", action: "drop" },
    ],
  }, async (server, registry) => {
    await sendUdp(
      server.port,
      "api.login.requests:1|c|#region:eu\napi.login.requests:1|c|#region:eu\njob.backup.duration:1500|ms\nnoise.x:1|c",
    );
    await counted(server, 4);
    const text = await registry.metrics();
    sample(text, 'api_requests_total{endpoint="login",region="eu"} 2');
    sample(text, "# TYPE job_duration_seconds summary");
    sample(text, 'job_duration_seconds{job="backup",quantile="0.5"} 1.5');
    assert.doesNotMatch(text, /^noise/m);
    // A dropped line is handled as configured: accepted, not an error.
    assert.deepEqual(server.stats(), { accepted: 4, rejected: 0 });
  });
});

Deno.test("startStatsd() reads several lines per packet, CRLF and blank lines included", async () => {
  await withServer({}, async (server, registry) => {
    await sendUdp(server.port, "a:1|c\r\n\nb:2|c\r\n\r\n", "a:1|c\nb:1|c\n");
    await counted(server, 4);
    const text = await registry.metrics();
    sample(text, "a_total 2");
    sample(text, "b_total 3");
  });
});

Deno.test("startStatsd() reads newline-delimited TCP", async (t) => {
  await withServer({ maxPacketBytes: 64 }, async (server, registry) => {
    await t.step(
      "lines split across writes, the last without newline",
      async () => {
        await sendTcp(server.port, "tcp.a:1|c\ntcp.", "a:2|c\ntcp.b:", "3|g");
        await counted(server, 3);
        const text = await registry.metrics();
        sample(text, "tcp_a_total 3");
        sample(text, "tcp_b 3");
      },
    );
    await t.step(
      "a line past maxPacketBytes is skipped, the connection goes on",
      async () => {
        const long = `tcp.long:1|c|#k:${"x".repeat(100)}`;
        // Oversized within one write, across writes, and in the carried part.
        await sendTcp(
          server.port,
          `tcp.a:1|c\n${long}\ntcp.a:1|c\n${long.slice(0, 30)}`,
          `${long.slice(30)}\ntcp.a:1|c\ntcp.a:`,
          "1|c\n",
        );
        await counted(server, 3 + 6);
        const text = await registry.metrics();
        sample(text, "tcp_a_total 7");
        rejected(text, "oversized", 2);
      },
    );
  });
});

Deno.test("startStatsd() counts every reject reason", async () => {
  const registry = new Registry({ defaultLabels: { service: "api" } });
  registry.counter({
    name: "http_requests_total",
    help: "Requests",
    labelNames: ["route"],
  });
  const server = await startStatsd(registry, {
    port: 0,
    maxMetrics: 8,
    maxPacketBytes: 200,
  });
  try {
    const lines = [
      "no_colon", // malformed
      "x:abc|c", // bad_value
      "x:1|zz", // bad_type
      "x:1|c|@2", // bad_sample_rate
      "kind:1|c", // creates kind_total
      "kind:1|g", // type_conflict: a gauge "kind" vs counter family "kind"
      "lab:1|c|#a:1", // creates lab_total{a}
      "lab:1|c|#b:1", // label_mismatch
      "lab:1|c", // label_mismatch
      "http.requests:1|c", // name_conflict: the application's counter has a route label
      "__x:1|g", // bad_name: reserved prefix
      "tagged:1|g|#service:web", // bad_name: the registry's default label
      "lat:1|ms|@0.0001", // sample_rate_too_low
      "h:1|h", // histogram h
      "h.count:1|g", // type_conflict: h_count is h's sample
    ];
    await sendUdp(server.port, lines.join("\n"));
    await counted(server, lines.length);
    // maxMetrics 8: 3 created above, 5 more fit, the 6th new name does not.
    await sendUdp(
      server.port,
      "m1:1|g\nm2:1|g\nm3:1|g\nm4:1|g\nm5:1|g\nm6:1|g\nm1:2|g",
    );
    await counted(server, lines.length + 7);
    // A packet past maxPacketBytes: each of its 3 lines is oversized.
    await sendUdp(server.port, `a:1|c\nb:1|c\n${"c".repeat(300)}:1|c`);
    await counted(server, lines.length + 10);
    const text = await registry.metrics();
    for (
      const [reason, count] of [
        ["malformed", 1],
        ["bad_value", 1],
        ["bad_type", 1],
        ["bad_sample_rate", 1],
        ["type_conflict", 2],
        ["label_mismatch", 2],
        ["name_conflict", 1],
        ["bad_name", 2],
        ["sample_rate_too_low", 1],
        ["too_many_metrics", 1],
        ["oversized", 3],
      ] as const
    ) rejected(text, reason, count, 'service="api",');
    sample(text, 'm5{service="api"} 1');
    sample(text, 'm1{service="api"} 2');
    assert.doesNotMatch(text, /^http_requests_total\{service="api"\}/m);
    assert.deepEqual(server.stats(), { accepted: 9, rejected: 16 });
  } finally {
    await server.close();
    await registry.close();
  }
});

Deno.test("startStatsd() records into a metric the application registered with the same type and labels, such as a kit's", async () => {
  const registry = new Registry();
  const hits = registry.counter({
    name: "cache_hits_total",
    help: "Cache hits",
    labelNames: ["cache"],
  });
  registry.histogram({
    name: "cache_operation_duration_seconds",
    help: "Cache operations",
    labelNames: ["cache", "operation"],
  });
  hits.labels({ cache: "redis" }).inc();
  const server = await startStatsd(registry, { port: 0, tcp: false });
  try {
    await sendUdp(
      server.port,
      "cache.hits:2|c|#cache:redis\ncache.operation.duration:4|ms|#operation:get,cache:redis\ncache.hits:1|c|#cache:redis,zone:eu",
    );
    await counted(server, 3);
    const text = await registry.metrics();
    sample(text, 'cache_hits_total{cache="redis"} 3');
    sample(
      text,
      'cache_operation_duration_seconds_count{cache="redis",operation="get"} 1',
    );
    sample(text, "# HELP cache_hits_total Cache hits");
    // Shared, the family keeps its label names: a line with more is refused.
    rejected(text, "label_mismatch", 1);
    assert.deepEqual(server.stats(), { accepted: 2, rejected: 1 });
  } finally {
    await server.close();
    await registry.close();
  }
});

Deno.test("startStatsd() counts set members over a sliding window", async () => {
  let now = 1_000_000;
  await withServer({
    setWindowSeconds: 60,
    now: () => now,
  }, async (server, registry) => {
    await sendUdp(
      server.port,
      "visitors:alice|s\nvisitors:bob|s\nvisitors:alice|s",
    );
    await counted(server, 3);
    sample(await registry.metrics(), "visitors 2");
    now += 40_000;
    await sendUdp(server.port, "visitors:carol|s");
    await counted(server, 4);
    sample(await registry.metrics(), "visitors 3");
    // alice and bob were last seen 60 s ago: they leave at scrape time.
    now += 20_000;
    sample(await registry.metrics(), "visitors 1");
    now += 60_000;
    sample(await registry.metrics(), "visitors 0");
  });
});

Deno.test("startStatsd() caps the members of a set", async () => {
  await withServer({}, async (server, registry) => {
    const members = 10_001;
    const lines: string[] = [];
    for (let i = 0; i < members; i++) lines.push(`big:m${i}|s`);
    await sendTcp(server.port, lines.join("\n") + "\nbig:m0|s\n");
    await counted(server, members + 1);
    const text = await registry.metrics();
    sample(text, "big 10000");
    rejected(text, "too_many_members", 1);
  });
});

Deno.test("startStatsd() sends label sets past the cardinality limit to the overflow series", async () => {
  await withServer({ cardinalityLimit: 2 }, async (server, registry) => {
    const lines: string[] = [];
    for (let i = 0; i < 5; i++) lines.push(`req:1|c|#user:u${i}`);
    lines.push("req:1|c|#user:u4", "req:1|c|#user:u0");
    lines.push("rt:1|ms|#user:a", "rt:1|ms|#user:b", "rt:1|ms|#user:c");
    await sendUdp(server.port, lines.join("\n"));
    await counted(server, lines.length);
    const text = await registry.metrics();
    sample(text, 'req_total{user="u0"} 2');
    sample(text, 'req_total{user="u1"} 1');
    sample(text, 'req_total{user="__overflow__"} 4');
    sample(text, 'rt_seconds_count{user="__overflow__"} 1');
    // Each overflowed lookup is counted, the repeated u4 included.
    sample(
      text,
      'vigil_cardinality_overflow_total{metric="req",reason="cardinality"} 4',
    );
    assert.deepEqual(server.stats(), { accepted: 10, rejected: 0 });
  });
});

Deno.test("StatsdServer.close() releases the UDP and TCP ports", async () => {
  const registry = new Registry();
  const server = await startStatsd(registry, { port: 0 });
  const port = server.port;
  // An open connection is closed by close() too.
  const conn = await Deno.connect({ hostname: HOST, port });
  await conn.write(encoder.encode("open:1|c\n"));
  await counted(server, 1);
  await server.close();
  await server.close();
  assert.equal(await conn.read(new Uint8Array(8)), null);
  conn.close();
  // Both ports are free again: a new listener binds the same one.
  const other = new Registry();
  const again = await startStatsd(other, { port });
  assert.equal(again.port, port);
  await again.close();
  await other.close();
  await registry.close();
});

Deno.test("startStatsd() refuses bad options", async () => {
  const registry = new Registry();
  try {
    for (
      const options of [
        { port: -1 },
        { port: 70000 },
        { maxPacketBytes: 0 },
        { maxMetrics: 1.5 },
        { setWindowSeconds: 0 },
        { buckets: [2, 1] },
      ]
    ) {
      await assert.rejects(
        startStatsd(registry, options),
        RangeError,
        JSON.stringify(options),
      );
    }
    await assert.rejects(
      startStatsd(registry, { mappings: [{ match: "a..b", name: "x" }] }),
      TypeError,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("startStatsd() refuses a line with other tags than a kit's metric without shutting the name out", async () => {
  const registry = new Registry();
  registry.counter({
    name: "cache_hits_total",
    help: "Cache hits",
    labelNames: ["cache"],
  });
  const server = await startStatsd(registry, { port: 0, tcp: false });
  try {
    await sendUdp(
      server.port,
      "cache.hits:1|c|#cache:redis,env:prod\ncache.hits:2|c|#cache:redis\ncache.hits:3|c|#cache:redis",
    );
    await counted(server, 3);
    const text = await registry.metrics();
    sample(text, 'cache_hits_total{cache="redis"} 5');
    rejected(text, "name_conflict", 1);
  } finally {
    await server.close();
    await registry.close();
  }
});
