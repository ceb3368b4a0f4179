import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import {
  onlineLearningKit,
  onlineLearningMetrics,
} from "../../src/kits/online_learning.ts";
import { assertMetrics } from "../../src/testing.ts";
import { ignoreWithoutPromtool } from "../_tools.ts";
import { assertKitRowParses, assertKitRules } from "./_kit_promtool.ts";

const setup = (registry: Registry) =>
  void onlineLearningMetrics(registry, { name: "fraud" });

Deno.test("onlineLearningMetrics() records updates and the buffer per model, two models sharing the families", async () => {
  const registry = new Registry();
  try {
    const fraud = onlineLearningMetrics(registry, { name: "fraud" });
    const churn = onlineLearningMetrics(registry, { name: "churn" });
    fraud.update();
    fraud.update(3);
    fraud.bufferSize(128);
    churn.bufferSize(7);
    await assertMetrics(
      registry,
      `
      # TYPE ml_online_updates_total counter
      ml_online_updates_total{model_name="fraud"} 4
      ml_online_updates_total{model_name="churn"} 0
      # TYPE ml_online_buffer_size gauge
      ml_online_buffer_size{model_name="fraud"} 128
      ml_online_buffer_size{model_name="churn"} 7
      `,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("onlineLearningMetrics() refuses a bad buffer size, a negative update and an empty name", async () => {
  const registry = new Registry();
  try {
    const fraud = onlineLearningMetrics(registry, { name: "fraud" });
    for (const bad of [-1, NaN, Infinity]) {
      assert.throws(() => fraud.bufferSize(bad), {
        name: "RangeError",
        message:
          `Cannot set the buffer size of model "fraud": samples must be finite and not negative, got ${bad}`,
      });
    }
    assert.throws(() => fraud.bufferSize("3" as unknown as number), {
      name: "TypeError",
      message:
        'Cannot set the buffer size of model "fraud": samples must be a number, got string',
    });
    assert.throws(() => fraud.update(-1), RangeError);
    assert.throws(
      () => onlineLearningMetrics(registry, { name: 3 as unknown as string }),
      {
        name: "TypeError",
        message:
          "Cannot create the online_learning kit: name must be a non-empty string, got 3",
      },
    );
  } finally {
    await registry.close();
  }
});

Deno.test({
  name:
    "onlineLearningKit() adds no alert, its rules still pass promtool, and its row's queries parse",
  ignore: await ignoreWithoutPromtool(),
  async fn() {
    assert.deepEqual(onlineLearningKit().alerts, []);
    await assertKitRules(onlineLearningKit(), setup);
    await assertKitRowParses(onlineLearningKit(), setup);
  },
});
