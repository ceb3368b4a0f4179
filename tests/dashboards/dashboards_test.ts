import assert from "node:assert/strict";
import type { Dashboard, Panel } from "@grafana/schema";
import {
  dashboardUid,
  generateDashboards as generateJson,
} from "../../src/dashboards/mod.ts";
import { httpMetrics } from "../../src/http/instrument.ts";
import { Health, registerHealthMetrics } from "../../src/health/mod.ts";
import { Registry } from "../../src/metrics/registry.ts";
import { registerProcessMetrics } from "../../src/metrics/process.ts";
import { registerRuntimeMetrics } from "../../src/metrics/runtime.ts";
import { ignoreWithoutPromtool, run } from "../_tools.ts";

/** The dashboards, as Grafana's type: what the generator built them as. */
async function generateDashboards(
  ...args: Parameters<typeof generateJson>
): Promise<Dashboard[]> {
  return (await generateJson(...args)) as unknown as Dashboard[];
}

/** A registry with every built-in family, a model and two custom metrics. */
async function withFullRegistry(
  fn: (registry: Registry, text: string) => Promise<void>,
): Promise<void> {
  const registry = new Registry();
  const monitor = registerRuntimeMetrics(registry);
  try {
    httpMetrics(registry);
    registerProcessMetrics(registry);
    const health = new Health();
    health.register("db", () => ({ status: "pass" }));
    registerHealthMetrics(registry, health);
    registry.model({
      name: "fraud",
      classes: [0, 1],
      detectors: [{ kind: "ddm" }],
    });
    registry.counter({
      name: "jobs_done_total",
      help: "Jobs done, by queue",
      labelNames: ["queue"],
    });
    registry.histogram({
      name: "job_payload_bytes",
      help: "Payload sizes of jobs",
    });
    await fn(registry, await registry.metrics());
  } finally {
    monitor.stop();
    await registry.close();
  }
}

function panelsOf(dashboard: Dashboard): Panel[] {
  return (dashboard.panels ?? []).filter((p): p is Panel => p.type !== "row");
}

function exprsOf(dashboards: Dashboard[]): string[] {
  return dashboards.flatMap(panelsOf).flatMap((panel) =>
    (panel.targets ?? []).map((target) => String(target["expr"]))
  );
}

function familyNames(text: string): Set<string> {
  return new Set(
    [...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((match) => match[1]!),
  );
}

Deno.test("generateDashboards() builds every preset from a full registry", async (t) => {
  await withFullRegistry(async (registry, text) => {
    const dashboards = await generateDashboards(registry, {
      service: "api",
      datasourceUid: "prom",
    });
    const titles = dashboards.map((d) => d.title);
    assert.deepEqual(titles, [
      "api / Service overview",
      "api / Model performance",
      "api / Drift",
      "api / Runtime",
      "api / Metrics",
    ]);

    await t.step("schema version, uids and variables", () => {
      const uids = new Set<string>();
      for (const dashboard of dashboards) {
        assert.equal(dashboard.schemaVersion, 42);
        assert.ok(dashboard.uid !== undefined && dashboard.uid.length <= 40);
        uids.add(dashboard.uid);
        const list = dashboard.templating?.list ?? [];
        assert.deepEqual(list.map((v) => v.name), [
          "datasource",
          "job",
          "instance",
        ]);
        assert.equal(list[0]!.type, "datasource");
        assert.equal(list[0]!.query, "prometheus");
        assert.equal(list[0]!.current?.value, "prom");
        assert.equal(list[1]!.query, "label_values(up, job)");
        assert.equal(list[2]!.type, "query");
        assert.match(
          String(list[2]!.query),
          /label_values\(up\{job=~"\$job"\}, instance\)/,
        );
        assert.ok(dashboard.panels!.some((p) => p.type === "row"));
      }
      assert.equal(uids.size, dashboards.length);
    });

    await t.step(
      "every query filters by job and instance and names a registered family",
      () => {
        const families = familyNames(text);
        const exprs = exprsOf(dashboards);
        assert.ok(exprs.length > 30);
        for (const expr of exprs) {
          const selectors = [
            ...expr.matchAll(/([a-zA-Z_:][\w:]*)\{([^}]*)\}/g),
          ];
          assert.ok(selectors.length > 0, expr);
          for (const [, name, matchers] of selectors) {
            assert.ok(
              matchers!.startsWith('job=~"$job",instance=~"$instance"'),
              expr,
            );
            const family = name!.replace(/_(bucket|sum|count)$/, "");
            assert.ok(
              families.has(name!) || families.has(family),
              `${name} in ${expr}`,
            );
          }
        }
      },
    );

    await t.step("every family appears on some dashboard", () => {
      const named = new Set(
        exprsOf(dashboards).flatMap((e) =>
          [...e.matchAll(/([a-zA-Z_:][\w:]*)\{/g)].map((m) =>
            m[1]!.replace(/_bucket$/, "")
          )
        ),
      );
      for (const family of familyNames(text)) {
        assert.ok(named.has(family), family);
      }
    });

    await t.step("units and panel types", () => {
      const byTitle = new Map(
        dashboards.flatMap(panelsOf).map((p) => [p.title, p]),
      );
      const unit = (title: string) =>
        byTitle.get(title)?.fieldConfig?.defaults.unit;
      assert.equal(unit("Request rate by route"), "reqps");
      assert.equal(unit("Error ratio (5xx)"), "percentunit");
      assert.equal(unit("Latency p50 / p95 / p99"), "s");
      assert.equal(unit("Memory"), "bytes");
      assert.equal(unit("Worker restarts"), "ops");
      assert.equal(unit("Accuracy per window"), "percentunit");
      assert.equal(byTitle.get("Prediction confidence")?.type, "heatmap");
      assert.equal(unit("Prediction latency p50 / p95 / p99"), "s");
      assert.equal(byTitle.get("Uptime")?.type, "stat");
      assert.equal(unit("Jobs done"), "ops");
      assert.equal(unit("Payload sizes of jobs"), "bytes");
      assert.equal(
        byTitle.get("Payload sizes of jobs (distribution)")?.type,
        "heatmap",
      );
      const steps = byTitle.get("Error ratio (5xx)")?.fieldConfig?.defaults
        .thresholds?.steps;
      assert.deepEqual(steps?.map((s) => s.value), [null, 0.01, 0.05]);
      const latency = byTitle.get("Latency p50 / p95 / p99")!.targets!.map((
        t,
      ) => t["expr"]);
      assert.equal(latency.length, 3);
      assert.match(
        String(latency[2]),
        /^histogram_quantile\(0\.99, sum by \(le\) \(rate\(http_request_duration_seconds_bucket\{/,
      );
    });

    await t.step(
      "the custom metrics, and only they, are on the automatic dashboard",
      () => {
        const exprs = exprsOf([dashboards[4]!]);
        assert.deepEqual(
          [
            ...new Set(
              exprs.flatMap((e) =>
                [...e.matchAll(/([a-zA-Z_:][\w:]*)\{/g)].map((m) => m[1]!)
              ),
            ),
          ].sort(),
          ["job_payload_bytes_bucket", "jobs_done_total"],
        );
      },
    );

    await t.step("uids are stable, and JSON round-trips", async () => {
      const again = await generateDashboards(registry, {
        service: "api",
        datasourceUid: "prom",
      });
      assert.deepEqual(again.map((d) => d.uid), dashboards.map((d) => d.uid));
      assert.equal(dashboards[0]!.uid, dashboardUid("api", "Service overview"));
      assert.notEqual(
        dashboardUid("api", "Drift"),
        dashboardUid("web", "Drift"),
      );
      assert.deepEqual(JSON.parse(JSON.stringify(dashboards)), dashboards);
    });
  });
});

const SLO_AVAILABILITY = {
  name: "api-availability",
  kind: "availability",
  objective: 99.9,
} as const;

Deno.test("generateDashboards() adds an SLO dashboard with each objective's error budget, burn rate and error ratio", async () => {
  const registry = new Registry();
  try {
    httpMetrics(registry);
    assert.ok(
      !(await generateDashboards(registry)).some((d) =>
        d.title?.endsWith("SLOs")
      ),
    );
    const dashboards = await generateDashboards(registry, {
      service: "api",
      slos: [SLO_AVAILABILITY, {
        name: "api-latency",
        kind: "latency",
        objective: 99,
        window: "7d",
      }],
    });
    const slo = dashboards.find((d) => d.title === "api / SLOs")!;
    assert.equal(slo.uid, dashboardUid("api", "SLOs"));
    const rows = (slo.panels ?? []).filter((p) => p.type === "row");
    assert.deepEqual(rows.map((r) => r.title), [
      "api-availability: 99.9% availability over 30d",
      "api-latency: 99% latency over 7d",
    ]);
    const panels = panelsOf(slo);
    const gauge = panels.find((p) =>
      p.type === "gauge" &&
      String(p.targets?.[0]?.["expr"]).includes('slo="api-latency"')
    )!;
    assert.equal(
      gauge.targets![0]!["expr"],
      'slo:error_budget_remaining:ratio{job=~"$job",slo="api-latency"}',
    );
    assert.equal(gauge.fieldConfig!.defaults.unit, "percentunit");
    const burn = panels.filter((p) => p.title === "Burn rate")[1]!;
    // The budget of 99% is 0.01: a burn rate is the ratio over it.
    assert.deepEqual(
      burn.targets!.map((t) => t["expr"]),
      ["1h", "6h", "1d", "3d"].map((w) =>
        `slo:sli_error:ratio_rate${w}{job=~"$job",slo="api-latency"} / 0.01`
      ),
    );
    assert.deepEqual(
      burn.fieldConfig!.defaults.thresholds!.steps.map((s) => s.value),
      [null, 1, 6, 14.4],
    );
    const good = panels.find((p) => p.title === "Good requests over 7d")!;
    assert.equal(
      good.targets![0]!["expr"],
      '1 - slo:sli_error:ratio_rate7d{job=~"$job",slo="api-latency"}',
    );
  } finally {
    await registry.close();
  }
});

Deno.test("generateDashboards() leaves out presets whose metrics are not registered", async () => {
  const registry = new Registry();
  try {
    httpMetrics(registry);
    const dashboards = await generateDashboards(registry);
    assert.deepEqual(dashboards.map((d) => d.title), [
      "vigil / Service overview",
      "vigil / Runtime", // the registry's own counters
    ]);
    const titles = panelsOf(dashboards[0]!).map((p) => p.title);
    assert.ok(!titles.includes("Uptime"));
    assert.ok(!titles.includes("Health status per component"));
    assert.equal(dashboards[0]!.templating!.list![0]!.current, undefined);
    const empty = new Registry();
    try {
      const titles = (await generateDashboards(empty)).map((d) => d.title);
      assert.deepEqual(titles, ["vigil / Runtime"]);
    } finally {
      await empty.close();
    }
  } finally {
    await registry.close();
  }
});

Deno.test({
  name: "every generated query parses in promtool (as recording rules)",
  ignore: await ignoreWithoutPromtool(),
  async fn() {
    await withFullRegistry(async (registry) => {
      const exprs = exprsOf(
        await generateDashboards(registry, { slos: [SLO_AVAILABILITY] }),
      );
      // What Grafana substitutes before it sends a query.
      const rules = exprs.map((expr, i) => {
        const promql = expr.replaceAll("$__rate_interval", "5m")
          .replaceAll("$__range", "1h").replaceAll("$job", ".*")
          .replaceAll("$instance", ".*");
        return `      - record: dashboard:check_${i}\n        expr: ${
          JSON.stringify(promql)
        }\n`;
      });
      const file = await Deno.makeTempFile({ suffix: ".yml" });
      try {
        await Deno.writeTextFile(
          file,
          `groups:\n  - name: dashboards\n    rules:\n${rules.join("")}`,
        );
        const { code, stdout, stderr } = await run("promtool", [
          "check",
          "rules",
          file,
        ], "");
        assert.equal(code, 0, stdout + stderr);
        assert.match(
          stdout,
          new RegExp(`SUCCESS: ${exprs.length} rules found`),
        );
      } finally {
        await Deno.remove(file);
      }
    });
  },
});

Deno.test("generateDashboards() draws thresholds as lines, shows 0 % errors without 5xx, and every check state", async () => {
  await withFullRegistry(async (registry) => {
    const panels = (await generateDashboards(registry)).flatMap(panelsOf);
    const withThresholds = panels.filter((p) =>
      p.type === "timeseries" &&
      (p.fieldConfig?.defaults.thresholds?.steps.length ?? 0) > 1
    );
    assert.ok(withThresholds.length > 3);
    for (const panel of withThresholds) {
      assert.deepEqual(
        (panel.fieldConfig!.defaults.custom as Record<string, unknown>)[
          "thresholdsStyle"
        ],
        { mode: "line" },
        panel.title,
      );
    }
    const errors = panels.find((p) => p.title === "Error ratio (5xx)")!;
    assert.match(String(errors.targets![0]!["expr"]), /\) or sum\(rate\(/);
    const checks = panels.find((p) =>
      p.title === "Health status per component"
    )!;
    const expr = String(checks.targets![0]!["expr"]);
    for (const status of ["pending", "warn", "fail"]) {
      assert.ok(expr.includes(`status="${status}"`), expr);
    }
    assert.deepEqual(
      Object.keys(checks.fieldConfig!.defaults.mappings![0]!.options),
      ["0", "1", "2", "3"],
    );
  });
});

Deno.test("generateDashboards() shows ingestion's accepted and rejected lines in Runtime", async () => {
  const registry = new Registry();
  try {
    registry.counter({
      name: "vigil_ingest_lines_total",
      help: "Ingested lines recorded, by protocol",
      labelNames: ["protocol"],
    });
    registry.counter({
      name: "vigil_ingest_lines_rejected_total",
      help: "Ingested lines rejected, by protocol and reason",
      labelNames: ["protocol", "reason"],
    });
    const dashboards = await generateDashboards(registry);
    assert.ok(!dashboards.some((d) => d.title === "vigil / Metrics"));
    const runtime = dashboards.find((d) => d.title === "vigil / Runtime")!;
    const titles = panelsOf(runtime).map((p) => p.title);
    assert.ok(titles.includes("Ingested lines"), titles.join(", "));
    assert.ok(titles.includes("Ingested lines rejected"));
  } finally {
    await registry.close();
  }
});
