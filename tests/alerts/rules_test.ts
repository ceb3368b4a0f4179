import assert from "node:assert/strict";
import { join } from "node:path";
import { generateAlertRules } from "../../src/alerts/mod.ts";
import { Registry } from "../../src/metrics/registry.ts";
import { httpMetrics } from "../../src/http/instrument.ts";
import { Health, registerHealthMetrics } from "../../src/health/mod.ts";
import { registerRuntimeMetrics } from "../../src/metrics/runtime.ts";
import { registerProcessMetrics } from "../../src/metrics/process.ts";
import { ignoreWithoutPromtool } from "../_tools.ts";

const ignore = await ignoreWithoutPromtool();

const ALL_ALERTS = [
  "HighErrorRate",
  "HighLatencyP95",
  "HighLatencyP99",
  "ServiceDown",
  "ComponentUnhealthy",
  "ConceptDriftDetected",
  "HighDriftWarningRate",
  "LowModelAccuracy",
  "LowF1Score",
  "NoRecentTraining",
  "HighMemoryUsage",
  "HighEventLoopLag",
  "WorkerRestarting",
  "ObservationsDropped",
  "CardinalityOverflow",
];

async function promtool(
  rules: string,
  tests: string,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "vigil.rules.yml"), rules);
    await Deno.writeTextFile(join(dir, "vigil.rules.test.yml"), tests);
    for (
      const args of [
        ["check", "rules", join(dir, "vigil.rules.yml")],
        ["test", "rules", join(dir, "vigil.rules.test.yml")],
      ]
    ) {
      const { code, stdout, stderr } = await new Deno.Command("promtool", {
        args,
      }).output();
      const decoder = new TextDecoder();
      assert.equal(
        code,
        0,
        `promtool ${args.join(" ")}:\n${decoder.decode(stdout)}\n${
          decoder.decode(stderr)
        }`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function fullRegistry(): {
  registry: Registry;
  stop: () => void;
} {
  const registry = new Registry();
  httpMetrics(registry);
  registry.model({
    name: "fraud",
    classes: [0, 1],
    detectors: [{ kind: "ddm" }],
  });
  registerHealthMetrics(registry, new Health());
  const runtime = registerRuntimeMetrics(registry);
  registerProcessMetrics(registry);
  return { registry, stop: () => runtime.stop() };
}

Deno.test({
  name: "generateAlertRules() covers every alert and promtool passes its tests",
  ignore,
  async fn() {
    const { registry, stop } = fullRegistry();
    try {
      const { rules, tests, alerts } = await generateAlertRules(registry);
      assert.deepEqual([...alerts].sort(), [...ALL_ALERTS].sort());
      assert.match(rules, /record: job:http_requests:rate5m/);
      assert.match(rules, /runbook_url: .*#higherrorrate/);
      await promtool(rules, tests);
    } finally {
      stop();
      await registry.close();
    }
  },
});

Deno.test({
  name: "generateAlertRules() applies thresholds and durations from options",
  ignore,
  async fn() {
    const { registry, stop } = fullRegistry();
    try {
      const { rules, tests } = await generateAlertRules(registry, {
        errorRatio: 0.2,
        errorFor: "15m",
        latencyP95Seconds: 0.3,
        accuracy: 0.9,
        memoryBytes: 5e8,
        trainingMaxAgeSeconds: 3600,
        driftWarnings: 7.5,
        runbookBase: "https://example.com/runbook",
      });
      assert.match(
        rules,
        /job:http_requests_error_ratio:rate5m > 0.2\n\s+for: 15m/,
      );
      assert.match(rules, /https:\/\/example.com\/runbook#lowmodelaccuracy/);
      await promtool(rules, tests);
    } finally {
      stop();
      await registry.close();
    }
  },
});

Deno.test({
  name: "generateAlertRules() leaves out alerts whose metrics are absent",
  ignore,
  async fn() {
    const registry = new Registry();
    try {
      registry.gauge({ name: "process_resident_memory_bytes", help: "RSS" });
      const { rules, tests, alerts } = await generateAlertRules(registry);
      assert.deepEqual(alerts, [
        "ServiceDown",
        "HighMemoryUsage",
        "CardinalityOverflow",
      ]);
      for (const name of ALL_ALERTS.filter((a) => !alerts.includes(a))) {
        assert.doesNotMatch(rules, new RegExp(`alert: ${name}\\b`));
      }
      assert.doesNotMatch(rules, /record:/);
      await promtool(rules, tests);
    } finally {
      await registry.close();
    }
  },
});

Deno.test("generateAlertRules() rejects a bad threshold or duration", async () => {
  const registry = new Registry();
  try {
    await assert.rejects(
      generateAlertRules(registry, { errorRatio: Number.NaN }),
      RangeError,
    );
    await assert.rejects(
      generateAlertRules(registry, { errorFor: "5 minutes" }),
      TypeError,
    );
  } finally {
    await registry.close();
  }
});
