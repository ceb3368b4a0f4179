// promtool checks of one kit through the generators: its rules and their
// tests, and its dashboard row's queries.
import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import type { Kit } from "../../src/kits/spec.ts";
import { generateAlertRules } from "../../src/alerts/mod.ts";
import { generateDashboards } from "../../src/dashboards/mod.ts";
import { run } from "../_tools.ts";

/** Its families are registered, and its generated rules pass `promtool check rules` and `test rules`; returns the rules. */
export async function assertKitRules(
  kit: Kit,
  setup: (registry: Registry) => void,
): Promise<string> {
  const registry = new Registry();
  const dir = await Deno.makeTempDir({ prefix: `vigil-kit-${kit.kind}-` });
  try {
    setup(registry);
    const text = await registry.metrics();
    for (const family of kit.families) {
      assert.match(text, new RegExp(`^# TYPE ${family} `, "m"), family);
    }
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
    return rules;
  } finally {
    await Deno.remove(dir, { recursive: true });
    await registry.close();
  }
}

/** The kit's row is in the Components dashboard and each query parses in promtool. */
export async function assertKitRowParses(
  kit: Kit,
  setup: (registry: Registry) => void,
): Promise<void> {
  const registry = new Registry();
  const file = await Deno.makeTempFile({ suffix: ".yml" });
  try {
    setup(registry);
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
    assert.equal(
      exprs.length,
      kit.panels.flatMap((p) => p.queries).length,
    );
    for (const expr of exprs) {
      assert.match(expr, /job=~"\$job",instance=~"\$instance"/, expr);
    }
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
    await registry.close();
  }
}
