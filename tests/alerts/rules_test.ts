import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ALERT_DEFAULTS,
  checkAlertThresholds,
  generateAlertRules,
} from "../../src/alerts/mod.ts";
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

Deno.test("checkAlertThresholds() fills in the seeds' defaults and names the field at fault", () => {
  assert.deepEqual(checkAlertThresholds({}), ALERT_DEFAULTS);
  assert.equal(ALERT_DEFAULTS.errorRatio, 0.05);
  assert.equal(ALERT_DEFAULTS.latencyP95Seconds, 1);
  assert.equal(ALERT_DEFAULTS.accuracy, 0.7);
  assert.equal(ALERT_DEFAULTS.f1Score, 0.7);
  assert.equal(ALERT_DEFAULTS.trainingMaxAgeSeconds, 86400);
  assert.equal(ALERT_DEFAULTS.serviceDownFor, "1m");
  // As in Prometheus, "0s" fires on the first breaching evaluation.
  assert.equal(checkAlertThresholds({ errorFor: "0s" }).errorFor, "0s");
  const cases: [Record<string, unknown>, ErrorConstructor, RegExp][] = [
    [
      { f1ScoreFor: "10" },
      TypeError,
      /f1ScoreFor must be a Prometheus duration/,
    ],
    [
      { eventLoopLagFor: "5 minutes" },
      TypeError,
      /eventLoopLagFor must be a Prometheus duration such as "5m", got "5 minutes"/,
    ],
    [
      { serviceDownFor: 60 },
      TypeError,
      /serviceDownFor must be a string, got 60/,
    ],
    [{ errorRatio: 1 }, RangeError, /errorRatio must be in \(0, 0.99\], got 1/],
    [{ accuracy: 0 }, RangeError, /accuracy must be in \(0, 1\], got 0/],
    [
      { memoryBytes: -1 },
      RangeError,
      /memoryBytes must be a positive number, got -1/,
    ],
    [
      { latencyP95Seconds: Number.NaN },
      RangeError,
      /latencyP95Seconds must be a positive number/,
    ],
    [
      { runbookBase: "wiki/runbook" },
      TypeError,
      /runbookBase must be an http\(s\) URL/,
    ],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(() => checkAlertThresholds(options), (error: Error) => {
      assert.ok(error instanceof type, `${JSON.stringify(options)}: ${error}`);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("every alert and the SLO alert has a runbook section in the README", async () => {
  const readme = await Deno.readTextFile(
    new URL("../../README.md", import.meta.url),
  );
  const runbook = readme.slice(readme.indexOf("\n## Runbook\n"));
  assert.ok(runbook.length > 20, "README has no ## Runbook section");
  const headings = new Set(
    [...runbook.matchAll(/^### (\w+)$/gm)].map(([, name]) => name!),
  );
  const registry = new Registry();
  const monitor = registerRuntimeMetrics(registry);
  try {
    httpMetrics(registry);
    registerProcessMetrics(registry);
    registerHealthMetrics(registry, new Health());
    registry.model({
      name: "m",
      classes: [0, 1],
      detectors: [{ kind: "ddm" }],
    });
    const { alerts } = await generateAlertRules(registry);
    assert.equal(alerts.length, 15, alerts.join(", "));
    for (const name of [...alerts, "ErrorBudgetBurn"]) {
      assert.ok(headings.has(name), `no "### ${name}" under ## Runbook`);
    }
  } finally {
    monitor.stop();
    await registry.close();
  }
});
