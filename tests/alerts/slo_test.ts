import assert from "node:assert/strict";
import { join } from "node:path";
import { generateSloRules, type Slo } from "../../src/alerts/mod.ts";
import { Registry } from "../../src/metrics/registry.ts";
import { httpMetrics } from "../../src/http/instrument.ts";
import { ignoreWithoutPromtool } from "../_tools.ts";

const ignore = await ignoreWithoutPromtool();

const SLOS: Slo[] = [
  { name: "api-availability", kind: "availability", objective: 99.9 },
  {
    name: "api-latency",
    kind: "latency",
    objective: 99,
    threshold: 0.5,
    window: "30d",
  },
];

async function promtool(rules: string, tests: string): Promise<string> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "vigil.slo.rules.yml"), rules);
    await Deno.writeTextFile(join(dir, "vigil.slo.rules.test.yml"), tests);
    let out = "";
    for (
      const args of [
        ["check", "rules", join(dir, "vigil.slo.rules.yml")],
        ["test", "rules", join(dir, "vigil.slo.rules.test.yml")],
      ]
    ) {
      const { code, stdout, stderr } = await new Deno.Command("promtool", {
        args,
      }).output();
      const decoder = new TextDecoder();
      out = `${decoder.decode(stdout)}\n${decoder.decode(stderr)}`;
      assert.equal(code, 0, `promtool ${args.join(" ")}:\n${out}`);
    }
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A registry with the HTTP metrics and one observed request, so buckets show. */
function httpRegistry(buckets?: number[]): Registry {
  const registry = new Registry();
  const http = httpMetrics(registry, buckets);
  http.duration.labels({ method: "GET", route: "/" }).observe(0.1);
  return registry;
}

Deno.test({
  name:
    "generateSloRules() writes burn-rate rules that promtool checks and tests",
  ignore,
  async fn() {
    const registry = httpRegistry();
    try {
      const { rules, tests } = await generateSloRules(registry, SLOS);
      for (const w of ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]) {
        assert.match(
          rules,
          new RegExp(`record: slo:sli_error:ratio_rate${w}\\n`),
        );
      }
      assert.match(rules, /record: slo:error_budget_remaining:ratio/);
      assert.match(
        rules,
        /slo:sli_error:ratio_rate1h\{slo="api-availability"\} > \(14.4 \* 0.001\)/,
      );
      assert.match(rules, /le="0.5"/);
      assert.match(tests, /a fast burn pages within minutes/);
      assert.match(tests, /a slow burn at 4.5x tickets but does not page/);
      assert.match(tests, /a healthy service fires nothing/);
      await promtool(rules, tests);
    } finally {
      await registry.close();
    }
  },
});

Deno.test({
  name:
    "generateSloRules() uses the exposed le of a threshold and a custom window",
  ignore,
  async fn() {
    const registry = httpRegistry([0.25, 1, 4]);
    try {
      const { rules, tests } = await generateSloRules(registry, [
        {
          name: "slow",
          kind: "latency",
          objective: 95,
          threshold: 1,
          window: "7d",
        },
        { name: "lenient", kind: "availability", objective: 90, window: "1d" },
      ], { groupPrefix: "shop", rulesFile: "vigil.slo.rules.yml" });
      assert.match(rules, /le="1.0"/);
      assert.match(rules, /record: slo:sli_error:ratio_rate7d/);
      assert.match(rules, /name: shop.slo.slow/);
      await promtool(rules, tests);
    } finally {
      await registry.close();
    }
  },
});

Deno.test("generateSloRules() rejects bad objectives naming the field", async (t) => {
  const registry = httpRegistry();
  const cases: [string, unknown, ErrorConstructor, RegExp][] = [
    [
      "a list that is no array",
      { name: "x" },
      TypeError,
      /slos must be an array/,
    ],
    [
      "a bad name",
      [{ name: "a b", kind: "availability", objective: 99 }],
      TypeError,
      /slos\[0\]\.name/,
    ],
    [
      "a duplicate name",
      [SLOS[0], SLOS[0]],
      RangeError,
      /slos\[1\]\.name must be unique/,
    ],
    [
      "an unknown kind",
      [{ name: "a", kind: "uptime", objective: 99 }],
      TypeError,
      /slos\[0\]\.kind/,
    ],
    [
      "a missing objective",
      [{ name: "a", kind: "availability" }],
      TypeError,
      /slos\[0\]\.objective/,
    ],
    [
      "an objective of 100",
      [{ name: "a", kind: "availability", objective: 100 }],
      RangeError,
      /slos\[0\]\.objective .* got 100/,
    ],
    [
      "a NaN objective",
      [{ name: "a", kind: "availability", objective: Number.NaN }],
      RangeError,
      /slos\[0\]\.objective/,
    ],
    [
      "a bad window",
      [{ name: "a", kind: "availability", objective: 99, window: "30 days" }],
      TypeError,
      /slos\[0\]\.window/,
    ],
    [
      "a latency without threshold",
      [{ name: "a", kind: "latency", objective: 99 }],
      TypeError,
      /slos\[0\]\.threshold/,
    ],
    [
      "a threshold off the buckets",
      [{ name: "a", kind: "latency", objective: 99, threshold: 0.3 }],
      RangeError,
      /slos\[0\]\.threshold must be a bucket bound .* got 0.3/,
    ],
    [
      "a threshold on availability",
      [{ name: "a", kind: "availability", objective: 99, threshold: 0.5 }],
      TypeError,
      /slos\[0\]\.threshold applies/,
    ],
  ];
  try {
    for (const [name, slos, error, message] of cases) {
      await t.step(name, async () => {
        await assert.rejects(
          generateSloRules(registry, slos as Slo[]),
          (e: unknown) =>
            e instanceof error && message.test((e as Error).message),
        );
      });
    }
    await t.step("a registry without the HTTP metrics", async () => {
      const empty = new Registry();
      try {
        await assert.rejects(
          generateSloRules(empty, [SLOS[0] as Slo]),
          /slos\[0\]\.kind "availability" needs the metric "http_requests_total"/,
        );
      } finally {
        await empty.close();
      }
    });
  } finally {
    await registry.close();
  }
});
