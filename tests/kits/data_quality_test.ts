import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import {
  dataQualityKit,
  dataQualityMetrics,
} from "../../src/kits/data_quality.ts";
import { assertMetrics, sampleValue } from "../../src/testing.ts";
import { ignoreWithoutPromtool } from "../_tools.ts";
import { assertKitRowParses, assertKitRules } from "./_kit_promtool.ts";

const setup = (registry: Registry) =>
  void dataQualityMetrics(registry, { name: "orders" });

Deno.test("dataQualityMetrics() records scores, checks and anomalies per dataset, two datasets sharing the families", async () => {
  const registry = new Registry();
  try {
    const orders = dataQualityMetrics(registry, { name: "orders" });
    const users = dataQualityMetrics(registry, { name: "users" });
    orders.check(true);
    orders.check(true);
    orders.check(false);
    users.check(false);
    orders.anomaly();
    orders.anomaly(2);
    orders.score(0.75);
    orders.score(1);
    users.score(0);
    await assertMetrics(
      registry,
      `
      # TYPE data_quality_score gauge
      data_quality_score{dataset="orders"} 1
      data_quality_score{dataset="users"} 0
      # TYPE data_quality_checks_total counter
      data_quality_checks_total{dataset="orders",result="pass"} 2
      data_quality_checks_total{dataset="orders",result="fail"} 1
      data_quality_checks_total{dataset="users",result="pass"} 0
      data_quality_checks_total{dataset="users",result="fail"} 1
      # TYPE data_anomalies_detected_total counter
      data_anomalies_detected_total{dataset="orders"} 3
      data_anomalies_detected_total{dataset="users"} 0
      `,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("dataQualityMetrics() exposes no score before the first, so a new dataset does not alert", async () => {
  const registry = new Registry();
  try {
    dataQualityMetrics(registry, { name: "orders" });
    assert.match(
      await registry.metrics(),
      /^# TYPE data_quality_score gauge$/m,
    );
    assert.equal(
      await sampleValue(registry, "data_quality_score", { dataset: "orders" }),
      undefined,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("dataQualityMetrics() refuses a score outside 0 to 1, a non-boolean check and an empty name", async () => {
  const registry = new Registry();
  try {
    const orders = dataQualityMetrics(registry, { name: "orders" });
    for (const bad of [-0.01, 1.01, NaN, Infinity]) {
      assert.throws(() => orders.score(bad), {
        name: "RangeError",
        message:
          `Cannot set the data quality score of dataset "orders": score must be from 0 to 1, got ${bad}`,
      });
    }
    assert.throws(() => orders.score("0.9" as unknown as number), {
      name: "TypeError",
      message: /score must be a number, got string/,
    });
    assert.throws(() => orders.check(1 as unknown as boolean), {
      name: "TypeError",
      message:
        'Cannot count a data quality check of dataset "orders": passed must be a boolean, got number',
    });
    assert.throws(() => orders.anomaly(-1), RangeError);
    assert.throws(() => dataQualityMetrics(registry, { name: "" }), {
      name: "TypeError",
      message:
        'Cannot create the data_quality kit: name must be a non-empty string, got ""',
    });
    assert.equal(
      await sampleValue(registry, "data_quality_score", { dataset: "orders" }),
      undefined,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("dataQualityKit() checks its options, naming the field", () => {
  assert.throws(() => dataQualityKit({ score: 1 }), {
    name: "RangeError",
    message:
      "Cannot create the data_quality kit: score must be in (0, 1), got 1",
  });
  assert.throws(() => dataQualityKit({ scoreFor: "10 minutes" }), {
    name: "TypeError",
    message:
      'Cannot create the data_quality kit: scoreFor must be a Prometheus duration such as "5m", got "10 minutes"',
  });
  const alert = dataQualityKit({ score: 0.9, scoreFor: "30m" }).alerts[0]!;
  assert.equal(alert.expr, "min by (job, dataset) (data_quality_score) < 0.9");
  assert.equal(alert.for, "30m");
});

Deno.test({
  name:
    "dataQualityKit() rules pass promtool: LowDataQuality fires just below the threshold, silent just above, also with other options",
  ignore: await ignoreWithoutPromtool(),
  async fn() {
    const rules = await assertKitRules(dataQualityKit(), setup);
    assert.match(
      rules,
      /expr: min by \(job, dataset\) \(data_quality_score\{job="api"\}\) < 0\.8/,
    );
    assert.match(rules, /for: 10m/);
    await assertKitRules(
      dataQualityKit({ score: 0.95, scoreFor: "3m" }),
      setup,
    );
  },
});

Deno.test({
  name: "dataQualityKit() row's queries parse in promtool",
  ignore: await ignoreWithoutPromtool(),
  async fn() {
    await assertKitRowParses(dataQualityKit(), setup);
  },
});
