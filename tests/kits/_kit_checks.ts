// The generic kit checks of kits_test.ts for one kit, so a kit's own test
// runs them before the kit is listed in kits().
import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import type { Kit } from "../../src/kits/spec.ts";
import { generateAlertRules } from "../../src/alerts/mod.ts";
import { generateDashboards } from "../../src/dashboards/mod.ts";
import { run } from "../_tools.ts";

async function withRegistry(
  setup: (registry: Registry) => void,
  fn: (registry: Registry) => Promise<void>,
): Promise<void> {
  const registry = new Registry();
  try {
    setup(registry);
    await fn(registry);
  } finally {
    await registry.close();
  }
}

/** Its families are registered, and its rules pass promtool check and test rules. */
export async function checkKitRules(
  kit: Kit,
  setup: (registry: Registry) => void,
): Promise<string> {
  let generated = "";
  await withRegistry(setup, async (registry) => {
    const text = await registry.metrics();
    for (const family of kit.families) {
      assert.match(text, new RegExp(`^# TYPE ${family} `, "m"), family);
    }
    const dir = await Deno.makeTempDir({ prefix: `vigil-kit-${kit.kind}-` });
    try {
      const { rules, tests, alerts } = await generateAlertRules(registry, {
        job: "api",
        kits: [kit],
      });
      for (const alert of kit.alerts) {
        assert.ok(alerts.includes(alert.name), alert.name);
        assert.match(tests, new RegExp(`name: ${alert.name} fires`));
        assert.match(tests, new RegExp(`name: ${alert.name} stays silent`));
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
      generated = rules;
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  return generated;
}

/** Its row is in Components, scoped to `$job` and `$instance`, and its queries parse. */
export async function checkKitRow(
  kit: Kit,
  setup: (registry: Registry) => void,
): Promise<void> {
  await withRegistry(setup, async (registry) => {
    const dashboards = await generateDashboards(registry, { kits: [kit] });
    const components = dashboards.find((d) => d.title === "vigil / Components");
    assert.ok(components, dashboards.map((d) => d.title).join(", "));
    const panels = (components.panels ?? []) as {
      type: string;
      title: string;
      targets?: { expr: string }[];
    }[];
    assert.ok(panels.some((p) => p.type === "row" && p.title === kit.title));
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((x) => x.expr));
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
}
