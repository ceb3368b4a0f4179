// Every kit, through the generators: its families match what its helpers
// register, its alerts fire and stay silent in promtool's tests, and its
// dashboard row's queries parse.
import assert from "node:assert/strict";
import type { Registry } from "../../src/metrics/registry.ts";
import {
  cacheMetrics,
  circuitBreakerMetrics,
  databaseMetrics,
  dataQualityMetrics,
  jobMetrics,
  KIT_KINDS,
  kits,
  llmMetrics,
  onlineLearningMetrics,
  streamMetrics,
} from "../../src/kits/mod.ts";
import { ignoreWithoutPromtool } from "../_tools.ts";
import { assertKitRowParses, assertKitRules } from "./_kit_promtool.ts";

/** What registers each kind's families, as a user's one line of setup. */
export const SETUP: Readonly<Record<string, (registry: Registry) => void>> = {
  cache: (registry) => void cacheMetrics(registry, { name: "redis" }),
  circuit_breaker: (registry) =>
    void circuitBreakerMetrics(registry, { name: "payments" }),
  database: (registry) => void databaseMetrics(registry, { name: "main" }),
  jobs: (registry) => void jobMetrics(registry, { name: "emails" }),
  llm: (registry) => void llmMetrics(registry, { name: "openai" }),
  data_quality: (registry) =>
    void dataQualityMetrics(registry, { name: "orders" }),
  stream: (registry) => void streamMetrics(registry, { name: "quotes" }),
  online_learning: (registry) =>
    void onlineLearningMetrics(registry, { name: "fraud" }),
};

Deno.test("kits() holds one kit of each kind config may declare", () => {
  assert.deepEqual(kits().map((kit) => kit.kind), [...KIT_KINDS]);
});

Deno.test({
  name:
    "each kit's alerts pass promtool check and test rules, firing on a breach and silent near the threshold, and its dashboard row's queries parse",
  ignore: await ignoreWithoutPromtool(),
  async fn(t) {
    for (const kit of kits()) {
      await t.step(kit.kind, async () => {
        const setup = SETUP[kit.kind];
        assert.ok(setup, `no setup for the ${kit.kind} kit in SETUP`);
        await assertKitRules(kit, setup);
        await assertKitRowParses(kit, setup);
      });
    }
  },
});
