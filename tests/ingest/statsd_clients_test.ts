// Real StatsD clients no one here wrote, against the listener over UDP.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import fc from "fast-check";
import { StatsD } from "hot-shots";
import { Registry } from "../../src/metrics/registry.ts";
import {
  startStatsd,
  type StatsdServer,
} from "../../src/ingest/statsd_server.ts";
import { ignoreWithout, PYTHON } from "../_tools.ts";

const HOST = "127.0.0.1";

/** Polls the exposition (bounded tries) until every line is present. */
async function exposes(
  registry: Registry,
  lines: readonly string[],
): Promise<string> {
  let text = "";
  for (let i = 0; i < 300; i++) {
    text = await registry.metrics();
    const have = new Set(text.split("\n"));
    if (lines.every((line) => have.has(line))) return text;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const have = new Set(text.split("\n"));
  assert.deepEqual(lines.filter((line) => !have.has(line)), [], text);
  return text;
}

const ignorePythonStatsd = await ignoreWithout(
  PYTHON,
  "apt-get install python3-statsd",
  ["-c", "import statsd"],
);

Deno.test({
  name: "Python's statsd package: counters, gauges and timers reach /metrics",
  ignore: ignorePythonStatsd,
  async fn() {
    const registry = new Registry();
    const server = await startStatsd(registry, { port: 0 });
    try {
      const script = `
import statsd
c = statsd.StatsClient("${HOST}", ${server.port}, prefix="shop")
c.incr("orders")
c.incr("orders", 4)
c.gauge("queue.depth", 10)
c.gauge("queue.depth", -3, delta=True)
c.timing("checkout", 250)
c.timing("checkout", 750)
c.set("buyers", "alice")
with c.pipeline() as pipe:
    pipe.incr("orders")
    pipe.timing("checkout", 1500)
`;
      const { code, stderr } = await new Deno.Command(PYTHON, {
        args: ["-c", script],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      await exposes(registry, [
        "shop_orders_total 6",
        "shop_queue_depth 7",
        "shop_checkout_seconds_count 3",
        "shop_checkout_seconds_sum 2.5",
        'shop_checkout_seconds_bucket{le="0.25"} 1',
        'shop_checkout_seconds_bucket{le="1.0"} 2',
        "shop_buyers 1",
        'vigil_ingest_lines_total{protocol="statsd"} 9',
      ]);
      assert.deepEqual(server.stats(), { accepted: 9, rejected: 0 });
    } finally {
      await server.close();
      await registry.close();
    }
  },
});

Deno.test("npm:hot-shots: counters, gauges, timers and distributions with tags reach /metrics", async () => {
  const registry = new Registry();
  const server = await startStatsd(registry, { port: 0 });
  // hot-shots sends from an unbound socket, which binds 0.0.0.0: the tests
  // may reach loopback only, so its socket is bound there as it is made.
  const createSocket = dgram.createSocket;
  dgram.createSocket = ((...args: Parameters<typeof createSocket>) => {
    const socket = createSocket(...args);
    socket.bind(0, HOST);
    return socket;
  }) as typeof createSocket;
  let client: StatsD;
  try {
    client = new StatsD({
      host: HOST,
      port: server.port,
      protocol: "udp",
      prefix: "api.",
      globalTags: { env: "test" },
    });
  } finally {
    dgram.createSocket = createSocket;
  }
  try {
    const tags = { route: "/users" };
    client.increment("requests", 2, tags);
    client.increment("requests", tags);
    // One gauge value: separate UDP packets may arrive in any order.
    client.gauge("inflight", 3, ["pool:io"]);
    client.timing("latency", 120, tags);
    client.timing("latency", 80, 1, tags);
    client.histogram("payload.bytes", 2048, tags);
    client.distribution("batch.size", 16, tags);
    client.set("clients", "c-1", tags);
    client.set("clients", "c-2", tags);
    await exposes(registry, [
      'api_requests_total{env="test",route="/users"} 3',
      'api_inflight{env="test",pool="io"} 3',
      'api_latency_seconds_count{env="test",route="/users"} 2',
      'api_latency_seconds_sum{env="test",route="/users"} 0.2',
      'api_latency_seconds_bucket{env="test",route="/users",le="0.1"} 1',
      'api_payload_bytes_sum{env="test",route="/users"} 2048',
      'api_batch_size_count{env="test",route="/users"} 1',
      'api_clients{env="test",route="/users"} 2',
    ]);
    assert.deepEqual(server.stats(), { accepted: 9, rejected: 0 });
  } finally {
    await new Promise<void>((resolve) => client.close(() => resolve()));
    await server.close();
    await registry.close();
  }
});

/** Non-empty lines of a packet as the parser splits them. */
function lineCount(bytes: Uint8Array): number {
  let count = 0;
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(10, start);
    if (end < 0) end = bytes.length;
    const length = end - start;
    if (length > 1 || (length === 1 && bytes[start] !== 13)) count++;
    start = end + 1;
  }
  return count;
}

async function settle(server: StatsdServer, lines: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const { accepted, rejected } = server.stats();
    if (accepted + rejected >= lines) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("startStatsd() counts arbitrary UDP bytes as accepted or rejected, never crashing", async () => {
  const registry = new Registry({ cardinalityLimit: 50 });
  const server = await startStatsd(registry, {
    port: 0,
    tcp: false,
    maxMetrics: 200,
  });
  const socket = dgram.createSocket("udp4");
  // Bound on loopback: the tests may not bind 0.0.0.0, as send() would.
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  const encoder = new TextEncoder();
  // StatsD-shaped fragments, so packets reach every stage, not just the parser.
  const fragment = fc.oneof(
    fc.constantFrom(
      "a.b",
      "x",
      ":",
      "|",
      "\n",
      "\r\n",
      "1",
      "-2.5",
      "c",
      "g",
      "ms",
      "h",
      "d",
      "s",
      "@0.5",
      "@0.0001",
      "#",
      "k:v",
      ",",
      "le:1",
      "__",
      "é",
    ),
    fc.string({ maxLength: 8 }),
  );
  const packet = fc.oneof(
    fc.uint8Array({ maxLength: 512 }),
    fc.array(fragment, { maxLength: 60 }).map((parts) =>
      encoder.encode(parts.join(""))
    ),
  );
  let sent = 0;
  try {
    await fc.assert(
      fc.asyncProperty(packet, async (bytes) => {
        await new Promise<void>((resolve, reject) =>
          socket.send(bytes, server.port, HOST, (error) => {
            if (error) reject(error);
            else resolve();
          })
        );
        sent += lineCount(bytes);
        await settle(server, sent);
        const { accepted, rejected } = server.stats();
        assert.equal(accepted + rejected, sent);
      }),
      { numRuns: 100 },
    );
    // The listener still records after all that.
    await new Promise<void>((resolve) =>
      socket.send("still.alive:1|c", server.port, HOST, () => resolve())
    );
    await exposes(registry, ["still_alive_total 1"]);
    const text = await registry.metrics();
    const accepted = Number(
      /^vigil_ingest_lines_total\{protocol="statsd"\} (\d+)$/m.exec(text)
        ?.[1] ?? 0,
    );
    let rejected = 0;
    for (
      const match of text.matchAll(
        /^vigil_ingest_lines_rejected_total\{protocol="statsd",reason="[a-z_]+"\} (\d+)$/gm,
      )
    ) rejected += Number(match[1]);
    assert.equal(accepted + rejected, sent + 1);
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    await server.close();
    await registry.close();
  }
});
