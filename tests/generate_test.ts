// deno task generate, as a user runs it: the files for the default config,
// checked by the real tools (promtool, amtool).
import assert from "node:assert/strict";
import { parse } from "yaml";
import { ignoreWithout, ignoreWithoutPromtool, run } from "./_tools.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test({
  name:
    "deno task generate writes dashboards, rules with their tests, prometheus.yml and alertmanager.yml that the real tools accept",
  ignore: await ignoreWithoutPromtool() ||
    await ignoreWithout("amtool", "apt-get install prometheus-alertmanager"),
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "vigil-generate-" });
    try {
      const { code, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "generate", "--out", out],
        cwd: ROOT,
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.equal(code, 0, new TextDecoder().decode(stderr));
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
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "generate"],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 2);
  assert.match(new TextDecoder().decode(stderr), /--out <dir> is required/);
});
