import assert from "node:assert/strict";
import {
  type CheckResult,
  type CheckStatus,
  Health,
  type HealthStatus,
} from "../../src/health/mod.ts";
import { recordingLogger } from "../_tools.ts";
import { setup, waitFor } from "./_helpers.ts";

type Case = {
  checks: [CheckStatus | "pending", "critical" | "optional"][];
  status: HealthStatus;
  ready: boolean;
};

const AGGREGATION: Case[] = [
  { checks: [], status: "healthy", ready: true },
  { checks: [["pass", "critical"]], status: "healthy", ready: true },
  {
    checks: [["pass", "critical"], ["pass", "optional"]],
    status: "healthy",
    ready: true,
  },
  { checks: [["warn", "critical"]], status: "degraded", ready: true },
  { checks: [["warn", "optional"]], status: "degraded", ready: true },
  { checks: [["fail", "optional"]], status: "degraded", ready: true },
  {
    checks: [["pass", "critical"], ["fail", "optional"]],
    status: "degraded",
    ready: true,
  },
  { checks: [["fail", "critical"]], status: "unhealthy", ready: false },
  {
    checks: [["warn", "optional"], ["fail", "critical"]],
    status: "unhealthy",
    ready: false,
  },
  {
    checks: [["fail", "critical"], ["fail", "optional"], ["warn", "critical"]],
    status: "unhealthy",
    ready: false,
  },
  { checks: [["pending", "critical"]], status: "healthy", ready: false },
  { checks: [["pending", "optional"]], status: "healthy", ready: true },
  {
    checks: [["pending", "critical"], ["warn", "optional"]],
    status: "degraded",
    ready: false,
  },
  {
    checks: [["pending", "optional"], ["fail", "critical"]],
    status: "unhealthy",
    ready: false,
  },
  {
    checks: [["pending", "optional"], ["pass", "critical"]],
    status: "healthy",
    ready: true,
  },
];

Deno.test("Health.report() aggregates check statuses into healthy, degraded or unhealthy", async (t) => {
  for (const { checks, status, ready } of AGGREGATION) {
    const label = checks.map(([s, c]) => `${s} (${c})`).join(", ") ||
      "no checks";
    await t.step(
      `${label} → ${status}, ${ready ? "ready" : "not ready"}`,
      async () => {
        const { health } = setup();
        const register = (i: number) => {
          const [result, critical] = checks[i]!;
          health.register(
            `check${i}`,
            () => ({ status: result === "pending" ? "pass" : result }),
            { critical: critical === "critical" },
          );
        };
        // Pending checks are registered after the run, so they stay pending.
        checks.forEach(([result], i) => {
          if (result !== "pending") register(i);
        });
        await health.runAll();
        checks.forEach(([result], i) => {
          if (result === "pending") register(i);
        });
        const report = health.report();
        assert.equal(report.status, status);
        assert.equal(report.ready, ready);
        assert.deepEqual(
          report.components.map((c) => c.status).sort(),
          checks.map(([s]) => s).sort(),
        );
      },
    );
  }
});

Deno.test("Health.report() is not ready while a critical check is pending or failing, or after markShuttingDown()", async () => {
  const { health } = setup();
  let dbStatus: CheckStatus = "pass";
  health.register("db", () => ({ status: dbStatus }));
  health.register("cache", () => ({ status: "fail" }), { critical: false });

  assert.equal(health.report().ready, false, "critical check pending");
  assert.equal(health.report().components[0]?.status, "pending");

  await health.runAll();
  assert.equal(health.report().ready, true, "critical passes");
  assert.equal(health.report().status, "degraded");

  dbStatus = "fail";
  await health.runAll();
  assert.equal(health.report().ready, false, "critical fails");
  assert.equal(health.report().status, "unhealthy");

  dbStatus = "warn";
  await health.runAll();
  assert.equal(health.report().ready, true, "critical warns");

  health.markShuttingDown();
  dbStatus = "pass";
  await health.runAll();
  const report = health.report();
  assert.equal(report.ready, false, "shutting down");
  assert.equal(report.status, "degraded");
});

Deno.test("Health.report() describes each component with its last result, duration and time", async () => {
  const { health, clock } = setup();
  health.register("db", () => {
    clock.ms += 7;
    return {
      status: "pass",
      observedValue: 3.5,
      observedUnit: "ms",
      output: "fine",
    };
  }, {
    componentType: "datastore",
    measurement: "responseTime",
    critical: false,
  });
  health.register("plain", () => ({ status: "pass" }));
  assert.deepEqual(health.report().components, [
    {
      name: "db",
      componentType: "datastore",
      measurement: "responseTime",
      critical: false,
      status: "pending",
      durationMs: null,
      lastCheck: null,
    },
    {
      name: "plain",
      componentType: "component",
      measurement: "status",
      critical: true,
      status: "pending",
      durationMs: null,
      lastCheck: null,
    },
  ]);
  await health.runAll();
  const [db, plain] = health.report().components;
  assert.deepEqual(db, {
    name: "db",
    componentType: "datastore",
    measurement: "responseTime",
    critical: false,
    status: "pass",
    observedValue: 3.5,
    observedUnit: "ms",
    output: "fine",
    durationMs: 7,
    lastCheck: "2026-01-01T00:00:00.007Z",
  });
  // No optional field is present as undefined, so JSON bodies stay clean.
  assert.deepEqual(Object.keys(plain!).sort(), [
    "componentType",
    "critical",
    "durationMs",
    "lastCheck",
    "measurement",
    "name",
    "status",
  ]);
});

Deno.test("Health.report() returns copies that callers cannot use to change the state", async () => {
  const { health } = setup();
  health.register("db", () => ({ status: "pass" }));
  await health.runAll();
  const report = health.report();
  report.components[0]!.status = "fail";
  report.components.length = 0;
  assert.equal(health.report().components[0]?.status, "pass");
});

Deno.test("A check that hangs past its timeout fails, and no second run starts while it hangs", async () => {
  const { health, clock } = setup();
  const gate = Promise.withResolvers<CheckResult>();
  const signals: AbortSignal[] = [];
  health.register("hangs", (signal) => {
    signals.push(signal);
    return gate.promise; // ignores its signal
  }, { timeoutMs: 20 });
  try {
    const first = health.runAll();
    // report() answers while the check hangs: it only reads.
    assert.equal(health.report().components[0]?.status, "pending");
    assert.equal(health.report().ready, false);
    await first;

    let [component] = health.report().components;
    assert.equal(component?.status, "fail");
    assert.equal(component?.output, "timed out after 20 ms");
    assert.equal(signals.length, 1);
    assert.equal(signals[0]?.aborted, true);
    assert.equal((signals[0]?.reason as DOMException).name, "TimeoutError");

    clock.ms += 1500;
    await health.runAll();
    [component] = health.report().components;
    assert.equal(component?.status, "fail");
    assert.equal(component?.output, "still running after 1500 ms");
    assert.equal(signals.length, 1, "no second concurrent run");

    // A late result of a run already counted as failed is ignored, and the
    // next run starts afresh.
    gate.resolve({ status: "pass" });
    await gate.promise;
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(health.report().components[0]?.status, "fail");
    await health.runAll();
    assert.equal(signals.length, 2);
    assert.equal(health.report().components[0]?.status, "pass");
  } finally {
    gate.resolve({ status: "pass" });
    await health.stop();
  }
});

Deno.test("In the background a hanging check is reported as still running, never run twice at once", async () => {
  const logger = recordingLogger();
  const health = new Health({ logger });
  const gate = Promise.withResolvers<CheckResult>();
  let calls = 0;
  health.register("hangs", () => {
    calls++;
    return gate.promise;
  }, { timeoutMs: 5, intervalMs: 10 });
  try {
    health.start();
    await waitFor(
      () =>
        health.report().components[0]?.output?.startsWith("still running") ??
          false,
      "a tick to find the run still in flight",
    );
    assert.equal(calls, 1);
    const [component] = health.report().components;
    assert.equal(component?.status, "fail");
    assert.match(component?.output ?? "", /^still running after \d+ ms$/);
    // One transition, pending → fail, however many ticks found it hanging.
    assert.equal(
      logger.records.filter((r) => r.message === "Health check failing")
        .length,
      1,
    );
  } finally {
    gate.resolve({ status: "pass" });
    await health.stop();
  }
});

Deno.test("Health.stop() returns even when a check ignores its signal and never settles", async () => {
  const { health } = setup();
  let signal: AbortSignal | undefined;
  health.register("stuck", (s) => {
    signal = s;
    return new Promise<CheckResult>(() => {});
  }, { timeoutMs: 10, intervalMs: 60_000 });
  health.start();
  await health.stop();
  assert.equal(signal?.aborted, true);
  assert.equal(health.report().components[0]?.status, "pending");
});

Deno.test("Health.stop() aborts runs in flight, ignores their results and is idempotent", async () => {
  const { health, logger } = setup();
  let signal: AbortSignal | undefined;
  health.register("slow", (s) => {
    signal = s;
    return new Promise<CheckResult>((_, reject) => {
      s.addEventListener("abort", () => reject(s.reason));
    });
  });
  health.start();
  const running = health.runAll(); // joins the run in flight
  await health.stop();
  await running;
  await health.stop();
  assert.equal(signal?.aborted, true);
  assert.equal((signal?.reason as DOMException).name, "AbortError");
  assert.equal(health.report().components[0]?.status, "pending");
  assert.deepEqual(logger.records, []);
});

Deno.test("Health.start() runs every check at once, then each on its interval", async () => {
  const { health } = setup();
  let fast = 0;
  let slow = 0;
  health.register("fast", () => {
    fast++;
    return { status: "pass" };
  }, { intervalMs: 5 });
  health.register("slow", () => {
    slow++;
    return { status: "pass" };
  }, { intervalMs: 60_000 });
  try {
    health.start();
    health.start(); // a second call does nothing
    assert.equal(fast, 1);
    assert.equal(slow, 1);
    // The timers are unref'd: waitFor() is what keeps this test's loop alive.
    await waitFor(() => fast >= 3, "three runs of the fast check");
    assert.equal(slow, 1);
  } finally {
    await health.stop();
  }
  const after = fast;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(fast, after, "no run after stop()");
});

Deno.test("Health.register() after start() runs the new check at once", async () => {
  const { health } = setup();
  let ran = false;
  try {
    health.start();
    health.register("late", () => {
      ran = true;
      return { status: "pass" };
    });
    assert.equal(ran, true);
    await waitFor(
      () => health.report().components[0]?.status === "pass",
      "the late check's result",
    );
  } finally {
    await health.stop();
  }
});

Deno.test("A check that throws or rejects fails with the error's message, without its stack", async (t) => {
  const cases: [string, () => CheckResult | Promise<CheckResult>, string][] = [
    ["throws", () => {
      throw new Error("database is down");
    }, "database is down"],
    [
      "rejects",
      () => Promise.reject(new TypeError("bad response")),
      "bad response",
    ],
    ["throws a string", () => {
      throw "plain string";
    }, "plain string"],
    ["throws an Error without a message", () => {
      throw new RangeError();
    }, "RangeError"],
  ];
  for (const [label, check, output] of cases) {
    await t.step(label, async () => {
      const { health } = setup();
      health.register("db", check);
      await health.runAll();
      const [component] = health.report().components;
      assert.equal(component?.status, "fail");
      assert.equal(component?.output, output);
      assert.doesNotMatch(component?.output ?? "", /\n\s+at /);
    });
  }
});

Deno.test("A check returning an invalid result fails and explains why", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    [
      "an unknown status",
      { status: "ok" },
      /^invalid result: status must be "pass", "warn" or "fail", got "ok"$/,
    ],
    [
      "nothing",
      undefined,
      /^invalid result: expected an object, got undefined$/,
    ],
    ["null", null, /^invalid result: expected an object, got null$/],
  ];
  for (const [label, value, output] of cases) {
    await t.step(label, async () => {
      const { health } = setup();
      health.register("odd", () => value as CheckResult);
      await health.runAll();
      const [component] = health.report().components;
      assert.equal(component?.status, "fail");
      assert.match(component?.output ?? "", output);
    });
  }
  await t.step(
    "drops malformed optional fields and keeps the status",
    async () => {
      const { health } = setup();
      health.register("odd", () => ({
        status: "warn",
        observedValue: NaN,
        observedUnit: 5,
        output: "x".repeat(5000),
      } as unknown as CheckResult));
      await health.runAll();
      const [component] = health.report().components;
      assert.equal(component?.status, "warn");
      assert.equal(component?.observedValue, undefined);
      assert.equal(component?.observedUnit, undefined);
      assert.equal(component?.output?.length, 1024);
    },
  );
});

Deno.test("Status changes are logged once per transition, not on every run", async () => {
  const { health, logger } = setup();
  const sequence: CheckStatus[] = [
    "pass",
    "fail",
    "fail",
    "fail",
    "pass",
    "pass",
    "warn",
    "warn",
    "fail",
  ];
  let i = 0;
  health.register("db", () => ({
    status: sequence[i++]!,
    output: `run ${i}`,
  }));
  health.register("cache", () => ({ status: "fail" }), { critical: false });
  for (let run = 0; run < sequence.length; run++) await health.runAll();
  assert.deepEqual(
    logger.records.map((r) => [
      r.level,
      r.message,
      r.fields?.component,
      r.fields?.from,
      r.fields?.to,
    ]),
    [
      ["warn", "Health check failing", "cache", "pending", "unhealthy"],
      ["error", "Health check failing", "db", "healthy", "unhealthy"],
      ["info", "Health check passing again", "db", "unhealthy", "healthy"],
      ["warn", "Health check warning", "db", "healthy", "degraded"],
      ["error", "Health check failing", "db", "degraded", "unhealthy"],
    ],
  );
  assert.ok(
    logger.records.every((r) => r.fields?.event === "health.status_changed"),
  );
  assert.equal(logger.records[1]?.fields?.output, "run 2");
});

Deno.test("Health.register() rejects bad names, checks and options", async (t) => {
  const { health } = setup();
  health.register("db", () => ({ status: "pass" }));
  const pass = () => ({ status: "pass" as const });
  const typeErrors: [string, () => void, string][] = [
    [
      "an empty name",
      () => health.register("", pass),
      'Cannot register health check "": the name must be a non-empty string',
    ],
    [
      "a duplicate name",
      () => health.register("db", pass),
      'Cannot register health check "db": a check with this name already exists',
    ],
    [
      "a name with a colon",
      () => health.register("db:primary", pass),
      'Cannot register health check "db:primary": the name must not contain ":", which precedes the measurement',
    ],
    [
      "a check that is not a function",
      () => health.register("x", "http://db" as unknown as typeof pass),
      'Cannot register health check "x": the check must be a function, got string',
    ],
    [
      "a non-boolean critical",
      () =>
        health.register("x", pass, { critical: "yes" as unknown as boolean }),
      'Cannot register health check "x": critical must be a boolean, got string',
    ],
    [
      "an empty componentType",
      () => health.register("x", pass, { componentType: "" }),
      'Cannot register health check "x": componentType must be a non-empty string, got ""',
    ],
    [
      "a measurement with a colon",
      () => health.register("x", pass, { measurement: "a:b" }),
      'Cannot register health check "x": measurement must be a non-empty string without ":", got "a:b"',
    ],
  ];
  for (const [label, fn, message] of typeErrors) {
    await t.step(`TypeError for ${label}`, () => {
      assert.throws(fn, { name: "TypeError", message });
    });
  }
  for (const key of ["timeoutMs", "intervalMs"] as const) {
    for (const value of [0, -1, NaN, Infinity, 2 ** 31]) {
      await t.step(`RangeError for ${key} ${value}`, () => {
        assert.throws(() => health.register("x", pass, { [key]: value }), {
          name: "RangeError",
          message:
            `Cannot register health check "x": ${key} must be a positive finite number of at most 2147483647, got ${value}`,
        });
      });
    }
  }
  assert.deepEqual(health.report().components.map((c) => c.name), ["db"]);
});
