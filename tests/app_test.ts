// The whole server as startVigil() builds it from a configuration, on
// 127.0.0.1, with real dependencies the tests start and stop.
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/load.ts";
import { startVigil, type VigilApp } from "../src/app.ts";
import { createSocket } from "node:dgram";
import { PYTHON, recordingLogger, run } from "./_tools.ts";

/**
 * Starts Vigil from YAML merged onto the defaults, on a free port with no
 * drain delay. The YAML follows an open `server:` section, so lines indented
 * by two spaces add server settings.
 */
function start(yaml: string): { app: VigilApp; base: string } {
  const config = parseConfig(
    `server:\n  port: 0\n  drainDelayMs: 0\n${yaml}`,
    "test.yaml",
  );
  const app = startVigil(config, { logger: recordingLogger() });
  return { app, base: `http://127.0.0.1:${app.server.addr.port}` };
}

async function get(
  url: string,
  init: RequestInit = {},
): Promise<
  { status: number; body: Record<string, unknown>; headers: Headers }
> {
  const response = await fetch(url, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text.startsWith("{") ? JSON.parse(text) : { text },
  };
}

/** Polls until `probe` is true; the test's own timeout bounds it. */
async function until(probe: () => Promise<boolean>): Promise<void> {
  while (!(await probe())) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("Every endpoint answers, with the documented bodies", async () => {
  const { app, base } = start(`
service:
  name: checkout
  version: 2.1.0
  environment: production
errors:
  sentryDsn: https://public@sentry.example/1
`);
  try {
    await until(async () => (await get(`${base}/health/ready`)).status === 200);
    const health = await get(`${base}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(Object.keys(health.body).sort(), [
      "status",
      "timestamp",
      "uptime",
      "version",
    ]);
    assert.equal(health.body.version, "2.1.0");
    assert.ok(["healthy", "degraded"].includes(health.body.status as string));

    const detailed = await get(`${base}/health/detailed`);
    const components = detailed.body.components as { name: string }[];
    assert.deepEqual(components.map((c) => c.name), [
      "event_loop",
      "memory",
      "workers",
    ]);
    const system = detailed.body.system as Record<string, unknown>;
    for (
      const key of ["cpuPercent", "memoryPercent", "diskPercent", "loadAverage"]
    ) {
      assert.ok(key in system, key);
    }
    assert.ok(Array.isArray(detailed.body.performance));

    const ietf = await get(`${base}/health/detailed`, {
      headers: { accept: "application/health+json" },
    });
    assert.equal(ietf.headers.get("content-type"), "application/health+json");
    assert.ok(["pass", "warn"].includes(ietf.body.status as string));
    assert.ok(
      "workers:status" in (ietf.body.checks as object) ||
        Object.keys(ietf.body.checks as object).some((k) =>
          k.startsWith("workers:")
        ),
    );

    const live = await get(`${base}/health/live`);
    assert.equal(live.status, 200);
    assert.equal(live.body.status, "pass");

    const info = await get(`${base}/system/info`);
    const config = info.body.config as { errors: { sentryDsn: string } };
    assert.equal(config.errors.sentryDsn, "***");
    assert.equal(
      (info.body.runtime as { deno: string }).deno,
      Deno.version.deno,
    );
    assert.doesNotMatch(JSON.stringify(info.body), /public@/);

    const metrics = await fetch(`${base}/metrics`);
    const text = await metrics.text();
    // Probes are not in the server's own HTTP metrics.
    assert.doesNotMatch(text, /route="\/health\/(live|ready)"/);
    assert.match(text, /^deno_event_loop_lag_seconds_count \d+$/m);
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/health",status="200"\} 1$/m,
    );
    assert.match(text, /^process_uptime_seconds \S+$/m);
  } finally {
    await app.shutdown();
  }
});

Deno.test("Health follows a TCP dependency the test starts and stops", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepting = (async () => {
    for await (const connection of listener) connection.close();
  })();
  const { app, base } = start(`
health:
  checks:
    - name: database
      type: tcp
      host: 127.0.0.1
      port: ${port}
      intervalMs: 50
      timeoutMs: 1000
    - name: cache
      type: tcp
      host: 127.0.0.1
      port: ${port}
      intervalMs: 50
      critical: false
`);
  try {
    await until(async () => (await get(`${base}/health/ready`)).status === 200);
    assert.equal((await get(`${base}/health`)).body.status, "healthy");
    listener.close();
    await accepting.catch(() => {});
    await until(async () => (await get(`${base}/health`)).status === 503);
    const detailed = await get(`${base}/health/detailed`);
    assert.equal(detailed.status, 503);
    assert.equal(detailed.body.status, "unhealthy");
    const ready = await get(`${base}/health/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body.failing, ["database"]);
    // Liveness does not depend on the database.
    assert.equal((await get(`${base}/health/live`)).status, 200);
  } finally {
    await app.shutdown();
  }
});

Deno.test("A non-critical failure degrades but keeps the service ready", async () => {
  const { app, base } = start(`
health:
  checks:
    - name: search
      type: tcp
      host: 127.0.0.1
      port: 1
      intervalMs: 50
      critical: false
`);
  try {
    await until(async () =>
      (await get(`${base}/health`)).body.status === "degraded"
    );
    assert.equal((await get(`${base}/health`)).status, 200);
    assert.equal((await get(`${base}/health/ready`)).status, 200);
    const ietf = await get(`${base}/health/detailed`, {
      headers: { accept: "application/health+json" },
    });
    assert.equal(ietf.body.status, "warn");
    const search = (ietf.body.checks as Record<string, { status: string }[]>)[
      "search:status"
    ];
    assert.equal(search?.[0]?.status, "fail");
  } finally {
    await app.shutdown();
  }
});

Deno.test("A check that hangs fails at its timeout and never hangs a probe", async () => {
  // A server that accepts and never answers.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const connection of listener) held.push(connection);
  })();
  const { app, base } = start(`
health:
  checks:
    - name: slow_api
      type: http
      url: http://127.0.0.1:${port}/
      timeoutMs: 200
      intervalMs: 100
`);
  try {
    await until(async () =>
      (await get(`${base}/health/ready`)).status === 503 &&
      ((await get(`${base}/health/detailed`)).body.components as {
        status: string;
      }[])
        .some((c) => c.status === "fail")
    );
    const detailed = await get(`${base}/health/detailed`);
    const component = (detailed.body.components as { output?: string }[])[0];
    assert.match(
      component?.output ?? "",
      /timed out after 200 ms|still running/,
    );
    assert.equal((await get(`${base}/health/live`)).status, 200);
  } finally {
    await app.shutdown();
    listener.close();
    for (const connection of held) connection.close();
    await accepting.catch(() => {});
  }
});

Deno.test("Shutdown lets in-flight requests finish and fails readiness first", async () => {
  const { app, base } = start("");
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  app.registry.gauge({
    name: "slow_source",
    help: "A gauge whose source answers slowly",
    collect: async (gauge) => {
      await gate;
      gauge.set(1);
    },
  });
  await until(async () => (await get(`${base}/health/ready`)).status === 200);
  const inFlight = Array.from({ length: 5 }, () => fetch(`${base}/metrics`));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const stopping = app.shutdown();
  assert.equal(app.health.report().ready, false);
  release();
  const responses = await Promise.all(inFlight);
  for (const response of responses) {
    assert.equal(response.status, 200);
    assert.match(await response.text(), /^slow_source 1$/m);
  }
  await stopping;
  await assert.rejects(fetch(`${base}/health/live`));
});

Deno.test("Auth protects /metrics, /health/detailed and /system/info, not the probes", async (t) => {
  const { app, base } = start(`
  auth:
    type: bearer
    token: s3cret
  aliases:
    /monitoring/metrics: /metrics
`);
  try {
    for (
      const path of [
        "/metrics",
        "/monitoring/metrics",
        "/health/detailed",
        "/system/info",
      ]
    ) {
      await t.step(`${path} needs the token`, async () => {
        const refused = await get(`${base}${path}`);
        assert.equal(refused.status, 401);
        assert.equal(
          refused.headers.get("www-authenticate"),
          'Bearer realm="vigil"',
        );
        const wrong = await get(`${base}${path}`, {
          headers: { authorization: "Bearer nope" },
        });
        assert.equal(wrong.status, 401);
        const allowed = await get(`${base}${path}`, {
          headers: { authorization: "Bearer s3cret" },
        });
        assert.equal(allowed.status, 200);
      });
    }
    for (const path of ["/health", "/health/live", "/health/ready"]) {
      await t.step(`${path} is open`, async () => {
        assert.notEqual((await get(`${base}${path}`)).status, 401);
      });
    }
    await t.step("/system/info masks the token", async () => {
      const info = await get(`${base}/system/info`, {
        headers: { authorization: "Bearer s3cret" },
      });
      assert.doesNotMatch(JSON.stringify(info.body), /s3cret/);
    });
  } finally {
    await app.shutdown();
  }
});

Deno.test("Basic auth, aliases, 413 for large bodies, and no stack traces", async () => {
  const { app, base } = start(`
  maxBodyBytes: 64
  auth:
    type: basic
    username: prometheus
    password: pa55
  aliases:
    /health/metrics: /metrics
`);
  try {
    const basic = `Basic ${btoa("prometheus:pa55")}`;
    const ok = await fetch(`${base}/health/metrics`, {
      headers: { authorization: basic },
    });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /^# TYPE/m);
    const large = await get(`${base}/metrics`, {
      method: "POST",
      body: "x".repeat(100),
    });
    assert.equal(large.status, 413);
    const small = await get(`${base}/metrics`, { method: "POST", body: "x" });
    assert.equal(small.status, 405);
    for (const response of [large, small]) {
      assert.doesNotMatch(JSON.stringify(response.body), /at .*\.ts:\d+/);
    }
  } finally {
    await app.shutdown();
  }
});

Deno.test("Every value the config accepts starts, up to each limit", async () => {
  const max = 2 ** 31 - 1;
  const buckets = Array.from({ length: 254 }, (_, i) => (i + 1) / 1000);
  const { app, base } = start(`
  requestTimeoutMs: ${max}
  shutdownTimeoutMs: ${max}
  maxBodyBytes: ${Number.MAX_SAFE_INTEGER}
metrics:
  buckets: [${buckets.join(", ")}]
  eventLoopIntervalMs: ${max}
  workers: 2
  cardinalityLimit: ${Number.MAX_SAFE_INTEGER}
health:
  checks:
    - { name: slow, type: memory, timeoutMs: ${max}, intervalMs: ${max} }
    - { name: fast, type: workers, timeoutMs: 1, intervalMs: 1 }
`);
  try {
    await until(async () => (await get(`${base}/health/ready`)).status === 200);
    await get(`${base}/health`);
    const metrics = await get(`${base}/metrics`);
    // The server's own latency histogram has the 254 buckets and +Inf.
    const bounds = String(metrics.body.text).split("\n").filter((line) =>
      line.startsWith(
        'http_request_duration_seconds_bucket{method="GET",route="/health"',
      )
    );
    assert.equal(bounds.length, 255);
    assert.equal(app.registry.workers().length, 2);
    const health = await get(`${base}/health/detailed`);
    assert.equal(health.body.status, "healthy");
  } finally {
    await app.shutdown();
  }
});

Deno.test("The app exposes its health checks as metrics", async () => {
  const { app, base } = start(`
health:
  checks:
    - { name: db, type: tcp, host: 127.0.0.1, port: 1, critical: false, intervalMs: 50 }
`);
  try {
    await until(async () =>
      /^vigil_health_check_status\{check="db",status="fail"\} 1$/m.test(
        String((await get(`${base}/metrics`)).body.text),
      )
    );
    const text = String((await get(`${base}/metrics`)).body.text);
    assert.match(text, /^vigil_health_status\{status="degraded"\} 1$/m);
    assert.match(text, /^vigil_health_check_duration_seconds\{check="db"\} /m);
    assert.match(text, /^vigil_health_ready 1$/m);
  } finally {
    await app.shutdown();
  }
});

Deno.test("The configured drift models are created at start and fed through the drift API", async (t) => {
  const { app, base } = start(`
  auth:
    type: bearer
    token: r34d
  aliases:
    /monitoring/drift/update: /drift/update
drift:
  models:
    - name: ensemble
      classes: [0, 1]
      detectors:
        - { kind: ddm }
        - { kind: adwin, input: confidence }
  writeToken: wr1te
`);
  const read = { authorization: "Bearer r34d" };
  const write = { authorization: "Bearer wr1te" };
  try {
    assert.deepEqual(app.registry.models().map((model) => model.name), [
      "ensemble",
    ]);
    await t.step("an update needs the write token", async () => {
      const path = "/monitoring/drift/update?prediction=1&actual=0&proba=0.8";
      const refused = await get(`${base}${path}`, { method: "POST" });
      assert.equal(refused.status, 401);
      const applied = await get(`${base}${path}`, {
        method: "POST",
        headers: write,
      });
      assert.equal(applied.status, 200);
      assert.deepEqual(applied.body, { model: "ensemble", applied: 1 });
    });
    await t.step(
      "the status needs the read credentials and sees it",
      async () => {
        assert.equal((await get(`${base}/drift/status`)).status, 401);
        const status = await get(`${base}/drift/status`, { headers: read });
        assert.equal(status.status, 200);
        const [model] = status.body.models as { predictions: number }[];
        assert.equal(model?.predictions, 1);
      },
    );
    await t.step("/system/info masks the write token", async () => {
      const info = await get(`${base}/system/info`, { headers: read });
      const drift = (info.body.config as { drift: { writeToken: string } })
        .drift;
      assert.equal(drift.writeToken, "***");
      assert.doesNotMatch(JSON.stringify(info.body), /wr1te/);
    });
    await t.step("the route label is the template", async () => {
      const metrics = await fetch(`${base}/metrics`, { headers: read });
      assert.match(
        await metrics.text(),
        /^http_requests_total\{method="POST",route="\/drift\/update",status="200"\} 1$/m,
      );
    });
  } finally {
    await app.shutdown();
  }
});

Deno.test("startVigil() throws a StartupError and leaves nothing running when it cannot start", async (t) => {
  await t.step("a check on a host it may not reach", () => {
    assert.throws(
      () =>
        start(`
health:
  checks:
    - { name: api, type: http, url: "http://127.0.0.2:8080/health?token=x" }
`),
      {
        name: "StartupError",
        message:
          'missing permissions: health check "api" (http 127.0.0.2:8080) needs --allow-net=127.0.0.2:8080',
      },
    );
  });
  await t.step("a port in use", async () => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const config = parseConfig(
        `server:\n  port: ${taken.addr.port}\n`,
        "test.yaml",
      );
      assert.throws(
        () => startVigil(config, { logger: recordingLogger() }),
        {
          name: "StartupError",
          message:
            `cannot listen on 127.0.0.1:${taken.addr.port}: the address is in use (choose another port with --port or server.port)`,
        },
      );
    } finally {
      taken.close();
    }
    // The sanitizers of this test see no timer, worker or listener left.
    await new Promise((resolve) => setTimeout(resolve, 0));
  });
  await t.step("a drift model the registry refuses", async () => {
    // Built by hand: parseConfig() would refuse it first.
    const config = parseConfig("server:\n  port: 0\n", "test.yaml");
    assert.throws(
      () =>
        startVigil({
          ...config,
          drift: {
            ...config.drift,
            models: [{ name: "m", window: 0, detectors: [] }],
          },
        }, { logger: recordingLogger() }),
      (error) =>
        error instanceof Error && error.name === "StartupError" &&
        /^cannot create drift model "m": .*window/.test(error.message),
    );
    await new Promise((resolve) => setTimeout(resolve, 0));
  });
});

Deno.test("The push API: Python's push_to_gateway reaches /metrics, the write token guards it, and the ingest.push keys apply", async (t) => {
  await t.step("open on loopback, as the default config has it", async () => {
    const { app, base } = start("");
    try {
      const script = [
        "from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, delete_from_gateway",
        "r = CollectorRegistry()",
        "Gauge('batch_last_success_unixtime', 'Last success', registry=r).set(1700000000)",
        "import sys",
        "push_to_gateway(sys.argv[1], job='nightly', registry=r, grouping_key={'shard': 'a/b'})",
      ].join("\n");
      const pushed = await run(PYTHON, ["-c", script, base], "");
      assert.equal(pushed.code, 0, pushed.stderr);
      const text = await app.registry.metrics();
      assert.match(
        text,
        /^batch_last_success_unixtime\{instance="",job="nightly",shard="a\/b"\} 1700000000$/m,
      );
      assert.match(
        text,
        /^push_time_seconds\{instance="",job="nightly",shard="a\/b"\} /m,
      );
      const bad = await get(`${base}/metrics/job/nightly`, {
        method: "PUT",
        body: '# TYPE x counter\nx{a="1" 2\n',
      });
      assert.equal(bad.status, 400);
      assert.match(String(bad.body.text ?? bad.body.error), /line 2/);
      const wrong = await get(`${base}/metrics/job/nightly`, { method: "GET" });
      assert.equal(wrong.status, 405);
    } finally {
      await app.shutdown();
    }
  });
  await t.step("a job with a / goes to /metrics/job@base64/...", async () => {
    const { app, base } = start("");
    try {
      const script = [
        "from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, delete_from_gateway",
        "import sys",
        "r = CollectorRegistry()",
        "Gauge('backup_bytes', 'Bytes', registry=r).set(42)",
        "push_to_gateway(sys.argv[1], job='nightly/backup', registry=r)",
        "push_to_gateway(sys.argv[1], job='a/b', registry=r)",
        "delete_from_gateway(sys.argv[1], job='a/b')",
      ].join("\n");
      const pushed = await run(PYTHON, ["-c", script, base], "");
      assert.equal(pushed.code, 0, pushed.stderr);
      const text = await app.registry.metrics();
      assert.match(
        text,
        /^backup_bytes\{instance="",job="nightly\/backup"\} 42$/m,
      );
      assert.doesNotMatch(text, /job="a\/b"/);
    } finally {
      await app.shutdown();
    }
  });
  await t.step("behind the write token when one is set", async () => {
    const { app, base } = start("drift:\n  writeToken: s3cret\n");
    try {
      const body = "# TYPE jobs_done gauge\njobs_done 3\n";
      const refused = await get(`${base}/metrics/job/etl`, {
        method: "PUT",
        body,
      });
      assert.equal(refused.status, 401);
      const accepted = await get(`${base}/metrics/job/etl`, {
        method: "PUT",
        body,
        headers: { authorization: "Bearer s3cret" },
      });
      assert.equal(accepted.status, 200);
      assert.match(
        await app.registry.metrics(),
        /^jobs_done\{instance="",job="etl"\} 3$/m,
      );
    } finally {
      await app.shutdown();
    }
  });
  await t.step("off with ingest.push.enabled: false", async () => {
    const { app, base } = start("ingest:\n  push:\n    enabled: false\n");
    try {
      const off = await get(`${base}/metrics/job/etl`, {
        method: "PUT",
        body: "",
      });
      assert.equal(off.status, 404);
    } finally {
      await app.shutdown();
    }
  });
});

/**
 * A port free for TCP on 127.0.0.1 when this returns, which the system
 * picked, so UDP has it free too but for a rare race.
 */
function freePort(): number {
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  tcp.close();
  return (tcp.addr as Deno.NetAddr).port;
}

/** Sends one UDP datagram to 127.0.0.1 from a socket bound there. */
async function sendUdp(port: number, text: string): Promise<void> {
  const socket = createSocket("udp4");
  try {
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    await new Promise<void>((resolve, reject) =>
      socket.send(
        text,
        port,
        "127.0.0.1",
        (error) => error ? reject(error) : resolve(),
      )
    );
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

Deno.test("ingest.statsd: the server takes StatsD lines over UDP and TCP into /metrics, and a taken port fails the start", async (t) => {
  await t.step("lines over UDP and TCP", async () => {
    const port = freePort();
    const { app, base } = start(
      `ingest:\n  statsd:\n    enabled: true\n    port: ${port}\n    mappings:\n      - { match: "api.*.requests", name: api_requests_total, labels: { endpoint: "$1" } }\n`,
    );
    try {
      const statsd = await app.statsd;
      assert.equal(statsd?.port, port);
      await sendUdp(
        port,
        "api.checkout.requests:3|c|#region:eu\njobs.latency:250|ms\nbad line\n",
      );
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode("queue.depth:7|g\n"));
      conn.close();
      await until(() => Promise.resolve(statsd!.stats().accepted === 3));
      const text = await (await fetch(`${base}/metrics`)).text();
      assert.match(
        text,
        /^api_requests_total\{endpoint="checkout",region="eu"\} 3$/m,
      );
      assert.match(text, /^jobs_latency_seconds_count 1$/m);
      assert.match(text, /^queue_depth 7$/m);
      assert.match(
        text,
        /^vigil_ingest_lines_rejected_total\{protocol="statsd",reason="malformed"\} 1$/m,
      );
    } finally {
      await app.shutdown();
    }
  });
  await t.step("a port taken for TCP", async () => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const { app } = start(
        `ingest:\n  statsd:\n    enabled: true\n    port: ${
          (taken.addr as Deno.NetAddr).port
        }\n`,
      );
      await assert.rejects(app.statsd, (error: Error) => {
        assert.equal(error.name, "StartupError");
        assert.match(
          error.message,
          /cannot listen for StatsD on 127\.0\.0\.1:\d+ \(ingest\.statsd\.port\)/,
        );
        return true;
      });
      await app.shutdown();
    } finally {
      taken.close();
    }
  });
});

Deno.test("kits: a declared cache's metrics are registered at start, and StatsD lines of its names land in them", async () => {
  const port = freePort();
  const { app, base } = start(
    `ingest:\n  statsd:\n    enabled: true\n    port: ${port}\nkits:\n  - { kind: cache, name: redis }\n  - { kind: llm, name: openai, prices: { gpt-4o: { input: 2.5, output: 10 } } }\n`,
  );
  try {
    const statsd = await app.statsd;
    await sendUdp(
      port,
      "cache.hits:5|c|#cache:redis\ncache.misses:1|c|#cache:redis\nllm.tokens:1000|c|#provider:openai,model:gpt-4o,type:input\nllm.tokens:500|c|#provider:openai,model:gpt-4o,type:output\n",
    );
    await until(() => Promise.resolve(statsd!.stats().accepted === 4));
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(
      text,
      /^# HELP cache_hits_total Cache lookups answered from the cache$/m,
    );
    assert.match(text, /^cache_hits_total\{cache="redis"\} 5$/m);
    assert.match(text, /^cache_misses_total\{cache="redis"\} 1$/m);
    assert.match(text, /^cache_items\{cache="redis"\} 0$/m);
    // The declared prices turn the sidecar's token lines into a cost.
    assert.match(
      text,
      /^llm_cost_usd_total\{provider="openai",model="gpt-4o"\} 0\.0075$/m,
    );
  } finally {
    await app.shutdown();
  }
});
