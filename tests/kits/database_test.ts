import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import { databaseKit, databaseMetrics } from "../../src/kits/database.ts";
import { generateAlertRules } from "../../src/alerts/mod.ts";
import { assertMetrics, sampleValue } from "../../src/testing.ts";
import { ignoreWithoutPromtool } from "../_tools.ts";
import { assertKitRowParses, assertKitRules } from "./_kit_promtool.ts";

const setup = (registry: Registry) =>
  void databaseMetrics(registry, { name: "main" });

Deno.test("databaseMetrics() records connections, pool size, timed queries and errors per pool, two pools sharing the families", async () => {
  const registry = new Registry();
  try {
    const main = databaseMetrics(registry, { name: "main" });
    const replica = databaseMetrics(registry, { name: "replica" });
    main.poolSize(20);
    main.connections({ active: 15, idle: 5 });
    replica.connections({ active: 1, idle: 0 });
    assert.equal(main.timed("select", () => "rows"), "rows");
    await assert.rejects(
      replica.timed("insert", () => Promise.reject(new Error("lost"))),
      /lost/,
    );
    class DeadlockError extends Error {}
    const renamed = new Error("x");
    renamed.name = "ConnectionError";
    main.error("update", new DeadlockError("d"));
    main.error("update", renamed);
    main.error("update", "timeout");
    main.error("update", 42);
    replica.error("insert", new TypeError("t"));
    await assertMetrics(
      registry,
      `
      # TYPE db_connections gauge
      db_connections{pool="main",state="active"} 15
      db_connections{pool="main",state="idle"} 5
      db_connections{pool="replica",state="active"} 1
      db_connections{pool="replica",state="idle"} 0
      # TYPE db_connection_pool_size gauge
      db_connection_pool_size{pool="main"} 20
      db_connection_pool_size{pool="replica"} 0
      # TYPE db_errors_total counter
      db_errors_total{pool="main",operation="update",error="DeadlockError"} 1
      db_errors_total{pool="main",operation="update",error="ConnectionError"} 1
      db_errors_total{pool="main",operation="update",error="timeout"} 1
      db_errors_total{pool="main",operation="update",error="unknown"} 1
      db_errors_total{pool="replica",operation="insert",error="TypeError"} 1
      `,
    );
    for (
      const [pool, operation] of [["main", "select"], ["replica", "insert"]]
    ) {
      assert.equal(
        await sampleValue(registry, "db_query_duration_seconds_count", {
          pool: pool!,
          operation: operation!,
        }),
        1,
      );
    }
  } finally {
    await registry.close();
  }
});

Deno.test("databaseMetrics() keeps maxErrorKinds error labels per operation, then counts other", async () => {
  const registry = new Registry();
  try {
    const db = databaseMetrics(registry, { name: "main", maxErrorKinds: 2 });
    for (const kind of ["a", "b", "c", "a", "d"]) db.error("select", kind);
    for (const kind of ["x", "y"]) db.error("insert", kind);
    await assertMetrics(
      registry,
      `
      # TYPE db_errors_total counter
      db_errors_total{pool="main",operation="select",error="a"} 2
      db_errors_total{pool="main",operation="select",error="b"} 1
      db_errors_total{pool="main",operation="select",error="other"} 2
      db_errors_total{pool="main",operation="insert",error="x"} 1
      db_errors_total{pool="main",operation="insert",error="y"} 1
      `,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("databaseMetrics() and databaseKit() refuse bad input, naming the field", async () => {
  const registry = new Registry();
  try {
    assert.throws(
      () => databaseMetrics(registry, { name: 7 as unknown as string }),
      {
        name: "TypeError",
        message:
          "Cannot create the database kit: name must be a non-empty string, got 7",
      },
    );
    assert.throws(
      () => databaseMetrics(registry, { name: "main", maxErrorKinds: 0 }),
      {
        name: "RangeError",
        message:
          "Cannot create the database kit: maxErrorKinds must be a whole number of at least 1, got 0",
      },
    );
    assert.throws(() => databaseKit({ poolUsage: 1.5 }), {
      name: "RangeError",
      message:
        "Cannot create the database kit: poolUsage must be in (0, 1], got 1.5",
    });
    assert.throws(
      () => databaseKit({ queryP95Seconds: "1" as unknown as number }),
      {
        name: "TypeError",
        message:
          'Cannot create the database kit: queryP95Seconds must be a number, got "1"',
      },
    );
    assert.throws(() => databaseKit({ queryP95For: "ten minutes" }), {
      name: "TypeError",
      message: /queryP95For must be a Prometheus duration/,
    });
    assert.throws(() => databaseKit({ poolUsageFor: "" }), {
      name: "TypeError",
      message: /poolUsageFor must be a Prometheus duration/,
    });
  } finally {
    await registry.close();
  }
});

Deno.test({
  name:
    "databaseKit() rules pass promtool: pool exhaustion and slow queries fire just past their thresholds, silent just within",
  ignore: await ignoreWithoutPromtool(),
  async fn(t) {
    for (
      const options of [{}, {
        poolUsage: 1,
        poolUsageFor: "3m",
        queryP95Seconds: 0.25,
        queryP95For: "15m",
      }, { poolUsage: 0.57 }]
    ) {
      await t.step(JSON.stringify(options), async () => {
        const rules = await assertKitRules(databaseKit(options), setup);
        assert.match(rules, /db_connection_pool_size\{job="api"\} > 0/);
      });
    }
  },
});

Deno.test({
  name: "databaseKit() row's queries parse in promtool",
  ignore: await ignoreWithoutPromtool(),
  fn: () => assertKitRowParses(databaseKit(), setup),
});

Deno.test("generateAlertRules() refuses a SlowDatabaseQueries threshold at or past the pool's largest bucket", async () => {
  const registry = new Registry();
  try {
    const db = databaseMetrics(registry, {
      name: "main",
      buckets: [0.01, 0.1],
    });
    await db.timed("select", () => Promise.resolve([]));
    await assert.rejects(
      generateAlertRules(registry, { kits: [databaseKit()] }),
      {
        name: "RangeError",
        message:
          "Cannot generate alert rules: SlowDatabaseQueries's queryP95Seconds must be below the largest bucket of db_query_duration_seconds (0.1), since histogram_quantile never exceeds it, got 0.5",
      },
    );
    const { alerts } = await generateAlertRules(registry, {
      kits: [databaseKit({ queryP95Seconds: 0.05 })],
    });
    assert.ok(alerts.includes("SlowDatabaseQueries"));
  } finally {
    await registry.close();
  }
});
