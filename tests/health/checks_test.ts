import assert from "node:assert/strict";
import {
  type CheckResult,
  diskCheck,
  eventLoopLagCheck,
  type HealthCheck,
  httpCheck,
  memoryCheck,
  tcpCheck,
  workersCheck,
  type WorkerStatus,
} from "../../src/health/mod.ts";
import { Registry } from "../../src/metrics/mod.ts";
import { recordingLogger } from "../_tools.ts";
import { setup } from "./_helpers.ts";

function run(check: HealthCheck): Promise<CheckResult> {
  return Promise.resolve(check(new AbortController().signal));
}

/** How many digits a number shows after the decimal point. */
function decimals(value: number): number {
  return String(value).split(".")[1]?.length ?? 0;
}

/** A port on 127.0.0.1 that nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

Deno.test("tcpCheck() passes while a port accepts connections and fails once it is closed", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let listening = true;
  const { health, logger } = setup();
  try {
    health.register("postgres", tcpCheck("127.0.0.1", listener.addr.port));
    await health.runAll();
    let [component] = health.report().components;
    assert.equal(component?.status, "pass");
    assert.equal(component?.observedUnit, "ms");
    assert.ok(
      typeof component?.observedValue === "number" &&
        component.observedValue >= 0,
    );

    listener.close();
    listening = false;
    await health.runAll();
    [component] = health.report().components;
    assert.equal(component?.status, "fail");
    assert.equal(component?.output, "connection refused");
    assert.equal(component?.observedValue, undefined);
    assert.deepEqual(
      logger.records.map((r) => [
        r.message,
        r.fields?.event,
        r.fields?.component,
        r.fields?.from,
        r.fields?.to,
      ]),
      [[
        "Health check failing",
        "health.status_changed",
        "postgres",
        "healthy",
        "unhealthy",
      ]],
    );
  } finally {
    if (listening) listener.close();
  }
});

Deno.test("tcpCheck() rejects an empty hostname and ports out of range", () => {
  assert.throws(() => tcpCheck("", 5432), {
    name: "TypeError",
    message:
      'Cannot create TCP check of "": the hostname must be a non-empty string',
  });
  for (const port of [0, 65536, 1.5, NaN]) {
    assert.throws(() => tcpCheck("db", port), {
      name: "RangeError",
      message:
        `Cannot create TCP check of "db": the port must be an integer from 1 to 65535, got ${port}`,
    });
  }
});

Deno.test("httpCheck() passes on 2xx, fails on 503, and cancels every body", async () => {
  let status = 200;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    // A body larger than one read, so an unread body would hold the connection.
    () => new Response("x".repeat(256 * 1024), { status }),
  );
  const { health } = setup();
  try {
    const url = `http://127.0.0.1:${server.addr.port}/ready`;
    health.register("api", httpCheck(url), { measurement: "responseTime" });
    health.register("api503", httpCheck(url, { expectStatus: [503] }), {
      critical: false,
    });
    await health.runAll();
    let [api, api503] = health.report().components;
    assert.equal(api?.status, "pass");
    assert.equal(api?.observedUnit, "ms");
    assert.ok(typeof api?.observedValue === "number" && api.observedValue >= 0);
    assert.equal(api503?.status, "fail");
    assert.equal(api503?.output, "unexpected status 200, expected 503");

    status = 503;
    await health.runAll();
    [api, api503] = health.report().components;
    assert.equal(api?.status, "fail");
    assert.equal(api?.output, "unexpected status 503, expected 2xx");
    assert.equal(api?.observedUnit, "ms");
    assert.equal(api503?.status, "pass");
  } finally {
    await health.stop();
    await server.shutdown();
  }
});

Deno.test("httpCheck() fails with the cause when nothing listens", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await run(httpCheck(`http://127.0.0.1:${port}/`));
  assert.equal(result.status, "fail");
  assert.match(result.output ?? "", /^request failed: .*Connection refused/);
});

Deno.test("httpCheck() keeps a URL's token and password out of its output", async (t) => {
  const assertNoSecret = (result: CheckResult): void => {
    assert.equal(result.status, "fail");
    assert.doesNotMatch(result.output ?? "", /s3cret/);
  };
  await t.step("nothing listens", async () => {
    const port = closedPort();
    for (
      const url of [
        `http://127.0.0.1:${port}/health?token=s3cret`,
        `http://127.0.0.1:${port}/health?region=eu&api_key=s3cret`,
        `http://ops:s3cret@127.0.0.1:${port}/health`,
      ]
    ) {
      const result = await run(httpCheck(url));
      assertNoSecret(result);
      assert.match(
        result.output ?? "",
        /^request failed: .*Connection refused/,
      );
    }
    const result = await run(
      httpCheck(`http://127.0.0.1:${port}/health?region=eu&token=s3cret`),
    );
    assert.match(result.output ?? "", /\?region=eu&token=\*\*\*\)/);
  });
  await t.step("the server answers 500", async () => {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => new Response(request.url, { status: 500 }),
    );
    try {
      const result = await run(
        httpCheck(`http://127.0.0.1:${server.addr.port}/?token=s3cret`),
      );
      assertNoSecret(result);
      assert.equal(result.output, "unexpected status 500, expected 2xx");
    } finally {
      await server.shutdown();
    }
  });
  await t.step("a redirect leads to a closed port", async () => {
    const port = closedPort();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () =>
        Response.redirect(`http://127.0.0.1:${port}/next?access_token=s3cret`),
    );
    try {
      const result = await run(
        httpCheck(`http://127.0.0.1:${server.addr.port}/`),
      );
      assertNoSecret(result);
      assert.match(result.output ?? "", /access_token=\*\*\*/);
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("httpCheck() is aborted at the timeout when the server does not answer", async () => {
  const answer = Promise.withResolvers<void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async () => {
      await answer.promise;
      return new Response("late");
    },
  );
  const { health } = setup();
  try {
    health.register(
      "slow",
      httpCheck(`http://127.0.0.1:${server.addr.port}/`),
      { timeoutMs: 30 },
    );
    await health.runAll();
    const [component] = health.report().components;
    assert.equal(component?.status, "fail");
    assert.equal(component?.output, "timed out after 30 ms");
  } finally {
    answer.resolve();
    await health.stop();
    await server.shutdown();
  }
});

Deno.test("httpCheck() rejects bad URLs and statuses, and treats an empty list as any 2xx", () => {
  assert.throws(() => httpCheck("localhost:8080/health"), {
    name: "TypeError",
    message:
      'Cannot create HTTP check of "localhost:8080/health": the protocol must be http or https',
  });
  assert.throws(() => httpCheck("/health"), {
    name: "TypeError",
    message: 'Cannot create HTTP check of "/health": not an absolute URL',
  });
  for (const status of [99, 600, 200.5]) {
    assert.throws(
      () => httpCheck("http://127.0.0.1/", { expectStatus: [200, status] }),
      {
        name: "RangeError",
        message:
          `Cannot create HTTP check of "http://127.0.0.1/": expectStatus must hold HTTP statuses from 100 to 599, got ${status}`,
      },
    );
  }
  assert.equal(
    typeof httpCheck("http://127.0.0.1/", { expectStatus: [] }),
    "function",
  );
});

Deno.test("diskCheck() passes, warns or fails by the free share of the filesystem", async (t) => {
  const cases: [string, number, number, CheckResult["status"]][] = [
    ["thresholds at zero pass", 0, 0, "pass"],
    ["a warning threshold of 100% free warns", 1, 0, "warn"],
    ["a failure threshold of 100% free fails", 1, 1, "fail"],
  ];
  for (const [label, warnFreeRatio, failFreeRatio, status] of cases) {
    await t.step(label, async () => {
      const result = await run(
        diskCheck(Deno.cwd(), { warnFreeRatio, failFreeRatio }),
      );
      assert.equal(result.status, status);
      assert.equal(result.observedUnit, "percent");
      const used = result.observedValue;
      assert.ok(typeof used === "number" && used > 0 && used <= 100, `${used}`);
      assert.ok(decimals(used) <= 1, `${used} has more than 0.1 precision`);
      if (status === "pass") assert.equal(result.output, undefined);
      else assert.match(result.output ?? "", /^\d+\.\d% free, below 100\.0%$/);
    });
  }
});

Deno.test("diskCheck() fails through Health when the path does not exist", async () => {
  const { health } = setup();
  health.register("data", diskCheck("/nonexistent/vigil-health-test"));
  await health.runAll();
  const [component] = health.report().components;
  assert.equal(component?.status, "fail");
  assert.match(component?.output ?? "", /ENOENT/);
});

Deno.test({
  name:
    "diskCheck() fails with the permission error without --allow-sys=statfs",
  permissions: { sys: false, read: true },
  fn: async () => {
    const { health } = setup();
    health.register("data", diskCheck("/"));
    await health.runAll();
    const [component] = health.report().components;
    assert.equal(component?.status, "fail");
    assert.match(component?.output ?? "", /statfs/);
  },
});

Deno.test("diskCheck() rejects ratios out of range or out of order", () => {
  assert.throws(() => diskCheck("/", { warnFreeRatio: 1.5 }), {
    name: "RangeError",
    message:
      'Cannot create disk check of "/": warnFreeRatio must be a finite number from 0 to 1, got 1.5',
  });
  assert.throws(() => diskCheck("/", { failFreeRatio: NaN }), RangeError);
  assert.throws(
    () => diskCheck("/", { warnFreeRatio: 0.1, failFreeRatio: 0.3 }),
    {
      name: "RangeError",
      message:
        'Cannot create disk check of "/": failFreeRatio must not exceed warnFreeRatio, got 0.3 > 0.1',
    },
  );
  assert.throws(() => diskCheck(""), TypeError);
});

Deno.test("memoryCheck() passes, warns or fails by resident memory", async (t) => {
  const max = Number.MAX_SAFE_INTEGER;
  const cases: [string, number, number, CheckResult["status"]][] = [
    ["thresholds out of reach pass", max, max, "pass"],
    ["a warning threshold of one byte warns", 1, max, "warn"],
    ["a failure threshold of one byte fails", 1, 1, "fail"],
  ];
  for (const [label, warnBytes, failBytes, status] of cases) {
    await t.step(label, async () => {
      const result = await run(memoryCheck({ warnBytes, failBytes }));
      assert.equal(result.status, status);
      assert.equal(result.observedUnit, "bytes");
      assert.ok((result.observedValue ?? 0) > 0);
      if (status === "pass") assert.equal(result.output, undefined);
      else {
        assert.match(
          result.output ?? "",
          /^resident memory \d+\.\d MiB, at or above 0\.0 MiB$/,
        );
      }
    });
  }
  await t.step("rejects thresholds out of order", () => {
    assert.throws(() => memoryCheck({ warnBytes: 2, failBytes: 1 }), {
      name: "RangeError",
      message:
        "Cannot create memory check: failBytes must not be below warnBytes, got 1 < 2",
    });
    assert.throws(() => memoryCheck({ warnBytes: -1 }), RangeError);
  });
});

Deno.test("eventLoopLagCheck() compares the monitor's lag with its thresholds", async (t) => {
  const cases: [number, CheckResult["status"], string | undefined][] = [
    [0, "pass", undefined],
    [99.9, "pass", undefined],
    [100, "warn", "lag 100 ms, at or above 100 ms"],
    [999, "warn", "lag 999 ms, at or above 100 ms"],
    [1000, "fail", "lag 1000 ms, at or above 1000 ms"],
    [NaN, "fail", "the lag monitor returned NaN, not a finite number"],
  ];
  for (const [lag, status, output] of cases) {
    await t.step(`${lag} ms → ${status}`, async () => {
      const result = await run(eventLoopLagCheck(() => lag));
      assert.equal(result.status, status);
      assert.equal(result.output, output);
      if (Number.isFinite(lag)) {
        assert.equal(result.observedValue, lag);
        assert.equal(result.observedUnit, "ms");
      }
    });
  }
  await t.step("reports the lag to the microsecond", async () => {
    const result = await run(
      eventLoopLagCheck(() => 123.456789, { warnMs: 100, failMs: 1000 }),
    );
    assert.equal(result.observedValue, 123.457);
    assert.equal(result.output, "lag 123.457 ms, at or above 100 ms");
    // Thresholds see the lag itself, not the rounded figure.
    const below = await run(
      eventLoopLagCheck(() => 99.9996, { warnMs: 100, failMs: 1000 }),
    );
    assert.equal(below.status, "pass");
  });
  await t.step("custom thresholds", async () => {
    const check = eventLoopLagCheck(() => 20, { warnMs: 10, failMs: 20 });
    assert.equal((await run(check)).status, "fail");
  });
  await t.step("rejects a lag that is not a function", () => {
    assert.throws(
      () => eventLoopLagCheck(42 as unknown as () => number),
      {
        name: "TypeError",
        message:
          "Cannot create event-loop lag check: lag must be a function, got number",
      },
    );
  });
});

function worker(
  index: number,
  overrides: Partial<WorkerStatus> = {},
): WorkerStatus {
  return {
    index,
    inThread: false,
    fallback: false,
    fallbackReason: undefined,
    connected: true,
    responsive: true,
    silentForMs: 10,
    retainedBatches: 0,
    ...overrides,
  };
}

Deno.test("workersCheck() reads the workers' status from the registry", async (t) => {
  const cases: [
    string,
    WorkerStatus[],
    CheckResult["status"],
    number,
    string | undefined,
  ][] = [
    ["no workers pass", [], "pass", 0, undefined],
    [
      "connected and responsive workers pass",
      [worker(0), worker(1)],
      "pass",
      2,
      undefined,
    ],
    [
      "a shard moved to the main thread after failures warns",
      [
        worker(0),
        worker(1, {
          inThread: true,
          fallback: true,
          fallbackReason: "its worker failed too often",
          silentForMs: 0,
        }),
      ],
      "warn",
      2,
      "on the main thread: shard 1 (its worker failed too often)",
    ],
    [
      "aggregating on the main thread by choice (workers: 0) passes",
      [worker(0, { inThread: true, silentForMs: 0 })],
      "pass",
      1,
      undefined,
    ],
    [
      "a pending restart warns",
      [worker(0, { connected: false, responsive: false }), worker(1)],
      "warn",
      1,
      "restart pending: worker 0",
    ],
    [
      "an unresponsive worker fails",
      [worker(0), worker(1, { responsive: false, silentForMs: 6000.4 })],
      "fail",
      1,
      "unresponsive: worker 1 silent for 6000 ms",
    ],
    [
      "a failure outranks warnings",
      [
        worker(0, { responsive: false, silentForMs: 5001 }),
        worker(1, { connected: false, responsive: false }),
        worker(2, {
          inThread: true,
          fallback: true,
          fallbackReason: "its modules may not be read",
        }),
      ],
      "fail",
      1,
      "unresponsive: worker 0 silent for 5001 ms; restart pending: worker 1; on the main thread: shard 2 (its modules may not be read)",
    ],
  ];
  for (const [label, workers, status, responsive, output] of cases) {
    await t.step(label, async () => {
      const result = await run(workersCheck({ workers: () => workers }));
      assert.deepEqual(result, {
        status,
        observedValue: responsive,
        observedUnit: "workers",
        ...(output === undefined ? {} : { output }),
      });
    });
  }
  await t.step("rejects something without workers()", () => {
    assert.throws(
      () => workersCheck({} as unknown as Registry),
      {
        name: "TypeError",
        message:
          "Cannot create workers check: the registry must have a workers() method",
      },
    );
  });
});

Deno.test("workersCheck() passes for a registry's live aggregation worker", async () => {
  const registry = new Registry({
    logger: recordingLogger(),
    aggregation: { workers: 1 },
  });
  try {
    registry.histogram({ name: "work_seconds", help: "x" }).observe(0.1);
    const result = await run(workersCheck(registry));
    assert.equal(result.status, "pass");
    assert.equal(result.observedValue, 1);
  } finally {
    await registry.close();
  }
});
