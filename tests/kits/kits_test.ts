// Every kit, through the generators: its families match what its helpers
// register, its alerts fire and stay silent in promtool's tests, and its
// dashboard row's queries parse.
import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import {
  cacheMetrics,
  circuitBreakerMetrics,
  databaseMetrics,
  dataQualityMetrics,
  jobMetrics,
  type Kit,
  KIT_KINDS,
  kits,
  llmMetrics,
  onlineLearningMetrics,
  streamMetrics,
} from "../../src/kits/mod.ts";
import { generateAlertRules } from "../../src/alerts/mod.ts";
import { generateDashboards } from "../../src/dashboards/mod.ts";
import { ignoreWithoutPromtool, run } from "../_tools.ts";

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

function familyNames(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map(([, n]) => n!));
}

async function withKit(
  kit: Kit,
  fn: (registry: Registry) => Promise<void>,
): Promise<void> {
  const setup = SETUP[kit.kind];
  assert.ok(setup, `no setup for the ${kit.kind} kit in SETUP`);
  const registry = new Registry();
  try {
    setup(registry);
    await fn(registry);
  } finally {
    await registry.close();
  }
}

Deno.test("kits() holds one kit of each kind config may declare", () => {
  assert.deepEqual(kits().map((kit) => kit.kind), [...KIT_KINDS]);
});

Deno.test("each kit's families are what its helpers register", async (t) => {
  for (const kit of kits()) {
    await t.step(kit.kind, async () => {
      await withKit(kit, async (registry) => {
        const names = familyNames(await registry.metrics());
        for (const family of kit.families) {
          assert.ok(names.has(family), `${family} is not registered`);
        }
        assert.ok(kit.families.includes(kit.marker));
      });
    });
  }
});

Deno.test({
  name:
    "each kit's alerts pass promtool check and test rules: firing on a breach, silent near the threshold",
  ignore: await ignoreWithoutPromtool(),
  async fn(t) {
    for (const kit of kits()) {
      await t.step(kit.kind, async () => {
        await withKit(kit, async (registry) => {
          const dir = await Deno.makeTempDir({
            prefix: `vigil-kit-${kit.kind}-`,
          });
          try {
            const { rules, tests, alerts } = await generateAlertRules(
              registry,
              {
                job: "api",
              },
            );
            for (const alert of kit.alerts) {
              assert.ok(alerts.includes(alert.name), alert.name);
              assert.match(tests, new RegExp(`name: ${alert.name} fires`));
              assert.match(
                tests,
                new RegExp(`name: ${alert.name} stays silent`),
              );
            }
            await Deno.writeTextFile(`${dir}/vigil.rules.yml`, rules);
            await Deno.writeTextFile(`${dir}/vigil.rules.test.yml`, tests);
            const check = await run("promtool", [
              "check",
              "rules",
              `${dir}/vigil.rules.yml`,
            ], "");
            assert.equal(check.code, 0, check.stdout + check.stderr);
            const test = await run("promtool", [
              "test",
              "rules",
              `${dir}/vigil.rules.test.yml`,
            ], "");
            assert.equal(test.code, 0, test.stdout + test.stderr);
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
        });
      });
    }
  },
});

Deno.test({
  name:
    "each kit's dashboard row is in Components, and every query parses in promtool",
  ignore: await ignoreWithoutPromtool(),
  async fn(t) {
    for (const kit of kits()) {
      await t.step(kit.kind, async () => {
        await withKit(kit, async (registry) => {
          const dashboards = await generateDashboards(registry);
          const components = dashboards.find((d) =>
            d.title === "vigil / Components"
          );
          assert.ok(components, dashboards.map((d) => d.title).join(", "));
          const panels = (components.panels ?? []) as {
            type: string;
            title: string;
            targets?: { expr: string }[];
          }[];
          assert.ok(
            panels.some((p) => p.type === "row" && p.title === kit.title),
          );
          const exprs = panels.flatMap((p) =>
            (p.targets ?? []).map((x) => x.expr)
          );
          assert.ok(exprs.length >= kit.panels.length);
          for (const expr of exprs) {
            assert.match(expr, /job=~"\$job",instance=~"\$instance"/, expr);
          }
          const file = await Deno.makeTempFile({ suffix: ".yml" });
          try {
            await Deno.writeTextFile(
              file,
              `groups:\n  - name: kit\n    rules:\n${
                exprs.map((expr, i) =>
                  `      - record: kit:check_${i}\n        expr: ${
                    JSON.stringify(
                      expr.replaceAll("$__rate_interval", "5m")
                        .replaceAll("$job", ".*").replaceAll("$instance", ".*"),
                    )
                  }\n`
                ).join("")
              }`,
            );
            const check = await run("promtool", ["check", "rules", file], "");
            assert.equal(check.code, 0, check.stdout + check.stderr);
          } finally {
            await Deno.remove(file);
          }
        });
      });
    }
  },
});
