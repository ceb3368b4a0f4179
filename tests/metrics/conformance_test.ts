// The exposition checked by independent tools: promtool and the Python
// OpenMetrics parser.
import assert from "node:assert/strict";
import fc from "fast-check";
import { Registry } from "../../src/metrics/mod.ts";
import { registerProcessMetrics } from "../../src/metrics/process.ts";
import {
  ignoreWithoutPromtool,
  ignoreWithoutPython,
  parseOpenMetrics,
  promtoolCheck,
  recordingLogger,
} from "../_tools.ts";
import { goldenRegistry } from "./_golden.ts";

const noPromtool = await ignoreWithoutPromtool();
const noPython = await ignoreWithoutPython();

Deno.test({
  name: "promtool check metrics accepts the 0.0.4 exposition",
  ignore: noPromtool,
  fn: async () => {
    const registry = goldenRegistry();
    registerProcessMetrics(registry);
    try {
      const result = await promtoolCheck(await registry.metrics());
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(result.stdout + result.stderr, "");
    } finally {
      await registry.close();
    }
  },
});

Deno.test({
  name:
    "promtool check metrics rejects a broken exposition (the check can fail)",
  ignore: noPromtool,
  fn: async () => {
    const result = await promtoolCheck('broken{label="x} 1\n');
    assert.notEqual(result.code, 0);
  },
});

Deno.test({
  name: "The Python OpenMetrics parser reads every family, label and value",
  ignore: noPython,
  fn: async () => {
    const registry = goldenRegistry();
    try {
      const families = await parseOpenMetrics(
        await registry.metrics({ format: "openmetrics" }),
      );
      const byName = new Map(families.map((family) => [family.name, family]));
      const requests = byName.get("http_requests");
      assert.equal(requests?.type, "counter");
      assert.equal(requests?.help, "Requests served");
      assert.deepEqual(requests?.samples, [
        {
          name: "http_requests_total",
          labels: { service: "api", method: "GET", status: "200" },
          value: 1,
        },
        {
          name: "http_requests_created",
          labels: { service: "api", method: "GET", status: "200" },
          value: 1700000000.25,
        },
        {
          name: "http_requests_total",
          labels: { service: "api", method: "POST", status: "500" },
          value: 2.5,
        },
        {
          name: "http_requests_created",
          labels: { service: "api", method: "POST", status: "500" },
          value: 1700000000.25,
        },
      ]);
      const canary = byName.get("escaping_canary");
      assert.equal(canary?.help, 'Help with a\\b"c and a\nnewline');
      assert.deepEqual(canary?.samples[0]?.labels, {
        service: "api",
        value: 'a\\b"c\nd',
      });
      const special = byName.get("special_values")?.samples ?? [];
      assert.deepEqual(
        special.map((sample) => [sample.labels.case, sample.value]),
        [
          ["pos_inf", "+Inf"],
          ["neg_inf", "-Inf"],
          ["nan", "NaN"],
          ["large", 1e21],
          ["small", 1.5e-7],
          ["negative", -42],
          ["fraction", 0.1],
          ["ünïcødé ✓ 日本", 7],
        ],
      );
      assert.equal(byName.get("inflight")?.samples[0]?.value, 3);
    } finally {
      await registry.close();
    }
  },
});

Deno.test({
  name:
    "The Python OpenMetrics parser rejects a missing # EOF (the check can fail)",
  ignore: noPython,
  fn: async () => {
    await assert.rejects(parseOpenMetrics("# TYPE x gauge\nx 1\n"));
  },
});

Deno.test({
  name:
    "Arbitrary Unicode label values and help survive the OpenMetrics parser unchanged",
  ignore: noPython,
  fn: async () => {
    // Each run renders a batch of values and parses it once, so one property
    // run costs one Python process rather than one per value.
    const text = fc.string({ unit: "binary", maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(text, { minLength: 1, maxLength: 20 }),
        text,
        async (values, help) => {
          const registry = new Registry({ logger: recordingLogger() });
          const gauge = registry.gauge({
            name: "property",
            help: `h${help}`,
            labelNames: ["value", "index"],
          });
          values.forEach((value, index) =>
            gauge.labels({ value, index }).set(index)
          );
          const families = await parseOpenMetrics(
            await registry.metrics({ format: "openmetrics" }),
          );
          await registry.close();
          const family = families.find((f) => f.name === "property");
          assert.equal(family?.help, `h${help}`);
          assert.deepEqual(
            family?.samples.map((sample) => sample.labels.value),
            values,
          );
        },
      ),
      { numRuns: 40 },
    );
  },
});
