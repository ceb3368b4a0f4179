// deno task generate, as a user runs it: the files for the default config,
// checked by the real tools (promtool, amtool).
import assert from "node:assert/strict";
import { parse } from "yaml";
import { ignoreWithout, ignoreWithoutPromtool, run } from "./_tools.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Runs `deno task generate` with `args`, as a user does; its exit code and stderr. */
async function generate(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "generate", ...args],
    cwd: ROOT,
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

Deno.test({
  name:
    "deno task generate writes dashboards, rules with their tests, prometheus.yml and alertmanager.yml that the real tools accept",
  ignore: await ignoreWithoutPromtool() ||
    await ignoreWithout("amtool", "apt-get install prometheus-alertmanager"),
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "vigil-generate-" });
    try {
      const { code, stderr } = await generate(["--out", out]);
      assert.equal(code, 0, stderr);
      const names: string[] = [];
      for await (const entry of Deno.readDir(`${out}/dashboards`)) {
        names.push(entry.name);
      }
      assert.ok(names.length >= 2, names.join(", "));
      for (const name of names) {
        const dashboard = JSON.parse(
          await Deno.readTextFile(`${out}/dashboards/${name}`),
        );
        assert.equal(`${dashboard.uid}.json`, name);
        assert.equal(dashboard.schemaVersion, 42);
      }
      const prometheus = parse(
        await Deno.readTextFile(`${out}/prometheus.yml`),
      );
      assert.deepEqual(prometheus.rule_files, ["rules/vigil.rules.yml"]);
      // The push API is on by default: pushed jobs keep their labels.
      assert.equal(prometheus.scrape_configs[0].honor_labels, true);
      assert.deepEqual(
        prometheus.scrape_configs[0].static_configs[0].targets,
        ["127.0.0.1:9464"],
      );
      // The files each mentions exist.
      await Deno.stat(`${out}/rules/vigil.rules.yml`);
      const checkConfig = await run("promtool", [
        "check",
        "config",
        `${out}/prometheus.yml`,
      ], "");
      assert.equal(
        checkConfig.code,
        0,
        checkConfig.stderr + checkConfig.stdout,
      );
      const testRules = await run("promtool", [
        "test",
        "rules",
        `${out}/rules/vigil.rules.test.yml`,
      ], "");
      assert.equal(testRules.code, 0, testRules.stdout + testRules.stderr);
      const amtool = await run("amtool", [
        "check-config",
        `${out}/alertmanager.yml`,
      ], "");
      assert.equal(amtool.code, 0, amtool.stdout + amtool.stderr);
      const alertmanager = parse(
        await Deno.readTextFile(`${out}/alertmanager.yml`),
      );
      assert.deepEqual(
        alertmanager.route.routes.map((r: { receiver: string }) => r.receiver),
        ["page", "ticket"],
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("deno task generate without --out exits 2 with its usage", async () => {
  const { code, stderr } = await generate([]);
  assert.equal(code, 2);
  assert.match(stderr, /--out <dir> is required/);
});

Deno.test({
  name:
    "deno task generate --config uses the file's alert thresholds and writes its SLO rules, tests, dashboard and operator manifest",
  ignore: await ignoreWithoutPromtool(),
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "vigil-generate-" });
    try {
      const config = `${out}/vigil.yaml`;
      await Deno.writeTextFile(
        config,
        [
          "service: { name: Checkout API }",
          "server: { port: 9100 }",
          "alerts: { errorRatio: 0.02, errorFor: 3m, accuracy: 0.9, runbookBase: https://wiki.example/runbook }",
          "drift:",
          "  models: [{ name: fraud, classes: [0, 1], detectors: [{ kind: ddm }] }]",
          "kits: [{ kind: stream, name: quotes, alerts: { staleSeconds: 120 } }]",
          "slos:",
          "  - { name: api-availability, kind: availability, objective: 99.9 }",
          "  - { name: api-latency, kind: latency, objective: 99, threshold: 0.5, window: 7d }",
        ].join("\n"),
      );
      const { code, stderr } = await generate([
        "--out",
        out,
        "--config",
        config,
      ]);
      assert.equal(code, 0, stderr);

      const rules = parse(
        await Deno.readTextFile(`${out}/rules/vigil.rules.yml`),
      );
      const alerts = rules.groups.flatMap((
        g: { rules: { alert?: string }[] },
      ) => g.rules.filter((r) => r.alert !== undefined));
      const high = alerts.find((r: { alert: string }) =>
        r.alert === "HighErrorRate"
      );
      assert.equal(
        high.expr,
        'job:http_requests_error_ratio:rate5m{job="Checkout API"} > 0.02',
      );
      assert.equal(high.for, "3m");
      assert.equal(
        high.annotations.runbook_url,
        "https://wiki.example/runbook#higherrorrate",
      );
      // A declared kit: its rules, with the thresholds the config gives.
      const stale = alerts.find((r: { alert: string }) =>
        r.alert === "StaleStream"
      );
      assert.match(
        stale.expr,
        /stream_last_event_timestamp_seconds\{job="Checkout API"\} > 120$/,
      );
      const accuracy = alerts.find((r: { alert: string }) =>
        r.alert === "LowModelAccuracy"
      );
      assert.equal(
        accuracy.expr,
        'ml_model_accuracy{job="Checkout API",window="recent"} < 0.9',
      );
      // Every selector keeps to the job Prometheus scrapes Vigil as.
      const recording = rules.groups[0].rules.map((r: { expr: string }) =>
        r.expr
      );
      assert.ok(
        recording.includes(
          'sum by (job) (rate(http_requests_total{job="Checkout API"}[5m]))',
        ),
        recording.join("\n"),
      );

      const prometheus = parse(
        await Deno.readTextFile(`${out}/prometheus.yml`),
      );
      assert.deepEqual(prometheus.rule_files, [
        "rules/vigil.rules.yml",
        "rules/vigil.slo.rules.yml",
      ]);
      assert.deepEqual(prometheus.scrape_configs[0].static_configs[0].targets, [
        "127.0.0.1:9100",
      ]);
      const slo = await Deno.readTextFile(`${out}/rules/vigil.slo.rules.yml`);
      assert.match(slo, /le="0.5"/);
      assert.match(slo, /ratio_rate7d/);
      for (const file of ["vigil.rules.test.yml", "vigil.slo.rules.test.yml"]) {
        const result = await run("promtool", [
          "test",
          "rules",
          `${out}/rules/${file}`,
        ], "");
        assert.equal(
          result.code,
          0,
          `${file}: ${result.stdout}${result.stderr}`,
        );
      }
      const check = await run("promtool", [
        "check",
        "config",
        `${out}/prometheus.yml`,
      ], "");
      assert.equal(check.code, 0, check.stdout + check.stderr);

      const dashboards: {
        title: string;
        panels: { title?: string; targets?: { expr: string }[] }[];
      }[] = [];
      for await (const entry of Deno.readDir(`${out}/dashboards`)) {
        dashboards.push(
          JSON.parse(
            await Deno.readTextFile(`${out}/dashboards/${entry.name}`),
          ),
        );
      }
      const slos = dashboards.find((d) => d.title === "Checkout API / SLOs");
      assert.ok(slos, dashboards.map((d) => d.title).join(", "));
      const exprs = slos.panels.flatMap((p) =>
        (p.targets ?? []).map((t) => t.expr)
      );
      assert.ok(
        exprs.includes(
          'slo:error_budget_remaining:ratio{job=~"$job",slo="api-latency"}',
        ),
      );
      assert.ok(
        exprs.includes(
          '1 - slo:sli_error:ratio_rate7d{job=~"$job",slo="api-latency"}',
        ),
      );

      const [monitor, rule] =
        (await Deno.readTextFile(`${out}/prometheus-operator.yaml`))
          .split(/^---$/m).map((doc) => parse(doc));
      assert.equal(monitor.kind, "ServiceMonitor");
      assert.deepEqual(monitor.spec.selector.matchLabels, {
        "app.kubernetes.io/name": "checkout-api",
      });
      assert.equal(rule.kind, "PrometheusRule");
      assert.deepEqual(
        rule.spec.groups,
        [...rules.groups, ...parse(slo).groups],
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("deno task generate with an invalid config exits 2 naming the key", async () => {
  const out = await Deno.makeTempDir({ prefix: "vigil-generate-" });
  try {
    await Deno.writeTextFile(
      `${out}/vigil.yaml`,
      "slos:\n  - { name: api-latency, kind: latency, objective: 99, threshold: 0.3 }\n",
    );
    const { code, stderr } = await generate([
      "--out",
      out,
      "--config",
      `${out}/vigil.yaml`,
    ]);
    assert.equal(code, 2);
    assert.match(
      stderr,
      /slos\[0\]\.threshold: expected one of metrics\.buckets \(.*\), got 0\.3/,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name:
    "deno task generate scrapes with the server's credentials from a file beside prometheus.yml, at the port VIGIL_PORT sets",
  ignore: await ignoreWithoutPromtool(),
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "vigil-generate-" });
    try {
      await Deno.writeTextFile(
        `${out}/vigil.yaml`,
        "server:\n  auth: { type: basic, username: prom, password: s3cret }\n",
      );
      const { code, stderr } = await generate([
        "--out",
        out,
        "--config",
        `${out}/vigil.yaml`,
      ], { VIGIL_PORT: "9999" });
      assert.equal(code, 0, stderr);
      const text = await Deno.readTextFile(`${out}/prometheus.yml`);
      assert.ok(!text.includes("s3cret"), "the password is in the file");
      const [scrape] = parse(text).scrape_configs;
      assert.deepEqual(scrape.basic_auth, {
        username: "prom",
        password_file: "vigil-credentials",
      });
      assert.deepEqual(scrape.static_configs[0].targets, ["127.0.0.1:9999"]);
      await Deno.writeTextFile(`${out}/vigil-credentials`, "s3cret");
      const check = await run("promtool", [
        "check",
        "config",
        `${out}/prometheus.yml`,
      ], "");
      assert.equal(check.code, 0, check.stdout + check.stderr);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("deno task generate refuses port 0, which Prometheus cannot scrape", async () => {
  const { code, stderr } = await generate(["--out", "/nonexistent/out"], {
    VIGIL_PORT: "0",
  });
  assert.equal(code, 2);
  assert.match(stderr, /server\.port is 0/);
});
