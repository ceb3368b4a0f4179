// The deployable stack in deploy/ checked against the code and the tools that
// will read it: every file parses, Prometheus and Alertmanager accept their
// configurations, every mounted path exists, every port agrees, and
// deploy/generated is what `deno task generate` writes today.
import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { defaultConfig } from "../src/config/mod.ts";
import { ignoreWithout, ignoreWithoutPromtool } from "./_tools.ts";

const ROOT = new URL("../", import.meta.url);
const DEPLOY = new URL("deploy/", ROOT);
const PORT = defaultConfig().server.port;
const PROBE_URL = `http://127.0.0.1:${PORT}/health/live`;

const noPromtool = await ignoreWithoutPromtool();
const noAmtool = await ignoreWithout(
  "amtool",
  "apt-get install prometheus-alertmanager",
  ["--version"],
);

/** Every file under a directory, as paths relative to it. */
function filesUnder(dir: URL, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isDirectory) {
      out.push(
        ...filesUnder(
          new URL(`${entry.name}/`, dir),
          `${prefix}${entry.name}/`,
        ),
      );
    } else out.push(`${prefix}${entry.name}`);
  }
  return out.sort();
}

function readYaml(path: string): unknown {
  return parse(Deno.readTextFileSync(new URL(path, DEPLOY)));
}

async function exec(
  command: string,
  args: string[],
  cwd?: string,
): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    ...(cwd === undefined ? {} : { cwd }),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code,
    output: decoder.decode(stdout) + decoder.decode(stderr),
  };
}

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: string[];
}
const compose = readYaml("docker-compose.yml") as {
  services: Record<string, ComposeService>;
};

Deno.test("deploy/: every YAML and JSON file parses", () => {
  const files = filesUnder(DEPLOY).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(files.includes("docker-compose.yml"));
  for (const file of files) {
    const text = Deno.readTextFileSync(new URL(file, DEPLOY));
    if (file.endsWith(".json")) {
      assert.doesNotThrow(() => JSON.parse(text), file);
      continue;
    }
    for (const document of parseAllDocuments(text)) {
      assert.deepEqual(document.errors, [], file);
    }
  }
});

Deno.test("deploy/generated is what `deno task generate` writes now", async () => {
  const out = await Deno.makeTempDir({ prefix: "vigil-generate-" });
  try {
    const { code, output } = await exec(
      Deno.execPath(),
      ["task", "generate", "--out", out],
      new URL(".", ROOT).pathname,
    );
    assert.equal(code, 0, output);
    const fresh = filesUnder(new URL(`file://${out}/`));
    const committed = filesUnder(new URL("generated/", DEPLOY));
    assert.deepEqual(committed, fresh);
    for (const file of fresh) {
      assert.equal(
        Deno.readTextFileSync(new URL(`generated/${file}`, DEPLOY)),
        Deno.readTextFileSync(`${out}/${file}`),
        `deploy/generated/${file} is stale: run deno task generate --out deploy/generated`,
      );
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("deploy/prometheus.yml is the generated one, scraping vigil:9464", () => {
  const generated = readYaml("generated/prometheus.yml");
  const composed = readYaml("prometheus.yml");
  const expected = JSON.parse(
    JSON.stringify(generated).replaceAll(
      `"127.0.0.1:${PORT}"`,
      `"vigil:${PORT}"`,
    ),
  );
  assert.deepEqual(composed, expected);
});

Deno.test({
  name: "promtool accepts the compose configuration and the generated rules",
  ignore: noPromtool,
  async fn(t) {
    // The container's layout: prometheus.yml beside rules/.
    const dir = await Deno.makeTempDir({ prefix: "vigil-prometheus-" });
    try {
      await Deno.mkdir(`${dir}/rules`);
      await Deno.copyFile(
        new URL("prometheus.yml", DEPLOY),
        `${dir}/prometheus.yml`,
      );
      for (const file of filesUnder(new URL("generated/rules/", DEPLOY))) {
        await Deno.copyFile(
          new URL(`generated/rules/${file}`, DEPLOY),
          `${dir}/rules/${file}`,
        );
      }
      await t.step("promtool check config", async () => {
        const { code, output } = await exec("promtool", [
          "check",
          "config",
          `${dir}/prometheus.yml`,
        ]);
        assert.equal(code, 0, output);
      });
      await t.step("promtool check config on the generated one", async () => {
        const generated = new URL("generated/prometheus.yml", DEPLOY).pathname;
        const { code, output } = await exec("promtool", [
          "check",
          "config",
          generated,
        ]);
        assert.equal(code, 0, output);
      });
      await t.step("promtool check rules", async () => {
        const { code, output } = await exec("promtool", [
          "check",
          "rules",
          `${dir}/rules/vigil.rules.yml`,
        ]);
        assert.equal(code, 0, output);
      });
      await t.step("promtool test rules", async () => {
        const { code, output } = await exec("promtool", [
          "test",
          "rules",
          "vigil.rules.test.yml",
        ], `${dir}/rules`);
        assert.equal(code, 0, output);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "amtool accepts the generated alertmanager.yml",
  ignore: noAmtool,
  async fn() {
    const { code, output } = await exec("amtool", [
      "check-config",
      new URL("generated/alertmanager.yml", DEPLOY).pathname,
    ]);
    assert.equal(code, 0, output);
  },
});

Deno.test("docker-compose.yml: every mounted file exists and images are pinned", () => {
  for (const [name, service] of Object.entries(compose.services)) {
    if (service.image !== undefined) {
      const tag = service.image.split(":")[1] ?? "";
      assert.ok(tag !== "" && tag !== "latest", `${name}: ${service.image}`);
    }
    for (const volume of service.volumes ?? []) {
      const source = volume.split(":")[0]!;
      assert.ok(source.startsWith("./"), `${name}: ${volume}`);
      assert.ok(
        Deno.statSync(new URL(source, DEPLOY)),
        `${name}: ${source} does not exist`,
      );
    }
    for (const dependency of service.depends_on ?? []) {
      assert.ok(dependency in compose.services, `${name}: ${dependency}`);
    }
  }
  const build = compose.services.vigil!.build!;
  assert.ok(
    Deno.statSync(
      new URL(build.dockerfile, new URL(`${build.context}/`, DEPLOY)),
    ).isFile,
  );
  assert.deepEqual(Object.keys(compose.services).sort(), [
    "alertmanager",
    "grafana",
    "jaeger",
    "otel-collector",
    "prometheus",
    "vigil",
  ]);
});

Deno.test("docker-compose.yml: ports agree with the configurations", () => {
  const { vigil, prometheus, alertmanager, grafana, jaeger } = compose.services;
  assert.ok(vigil!.ports!.includes(`${PORT}:${PORT}`));
  assert.deepEqual(vigil!.healthcheck!.test, [
    "CMD",
    "deno",
    "task",
    "probe",
    PROBE_URL,
  ]);
  const command = vigil!.command!;
  assert.equal(command[command.indexOf("--hostname") + 1], "0.0.0.0");
  assert.equal(command[command.indexOf("--port") + 1], String(PORT));
  // Prometheus scrapes Vigil and alerts Alertmanager on their service ports.
  const promConfig = readYaml("prometheus.yml") as {
    rule_files: string[];
    alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    scrape_configs: { static_configs: { targets: string[] }[] }[];
  };
  assert.deepEqual(promConfig.scrape_configs[0]!.static_configs[0]!.targets, [
    `vigil:${PORT}`,
  ]);
  const [amHost, amPort] = promConfig.alerting.alertmanagers[0]!
    .static_configs[0]!.targets[0]!.split(":");
  assert.ok(amHost! in compose.services);
  assert.ok(alertmanager!.ports!.includes(`${amPort}:${amPort}`));
  // Rules load from the directory the compose file mounts beside the config.
  const mounts = new Map(
    prometheus!.volumes!.map((v) => [v.split(":")[1]!, v.split(":")[0]!]),
  );
  assert.equal(
    mounts.get("/etc/prometheus/prometheus.yml"),
    "./prometheus.yml",
  );
  for (const ruleFile of promConfig.rule_files) {
    const dir = ruleFile.split("/")[0]!;
    const source = mounts.get(`/etc/prometheus/${dir}`);
    assert.ok(source !== undefined, ruleFile);
    assert.ok(
      Deno.statSync(
        new URL(`${source}/${ruleFile.slice(dir.length + 1)}`, DEPLOY),
      )
        .isFile,
    );
  }
  assert.ok(prometheus!.ports!.includes("9090:9090"));
  assert.ok(grafana!.ports!.includes("3000:3000"));
  assert.ok(jaeger!.ports!.includes("16686:16686"));
  // Vigil exports OTLP/HTTP to the collector's 4318, which forwards to Jaeger.
  const environment = (vigil as { environment: Record<string, string> })
    .environment;
  assert.equal(
    environment.OTEL_EXPORTER_OTLP_ENDPOINT,
    "http://otel-collector:4318",
  );
  const collector = readYaml("otel-collector.yaml") as {
    receivers: { otlp: { protocols: { http: { endpoint: string } } } };
    exporters: Record<string, { endpoint?: string }>;
  };
  assert.equal(
    collector.receivers.otlp.protocols.http.endpoint,
    "0.0.0.0:4318",
  );
  assert.equal(collector.exporters["otlp/jaeger"]!.endpoint, "jaeger:4317");
});

Deno.test("grafana provisioning points at Prometheus and the generated dashboards", () => {
  const datasources = readYaml(
    "grafana/provisioning/datasources/prometheus.yml",
  ) as { datasources: { type: string; url: string; isDefault: boolean }[] };
  const [source] = datasources.datasources;
  assert.equal(source!.type, "prometheus");
  assert.equal(source!.url, "http://prometheus:9090");
  assert.ok(source!.isDefault);
  const providers = readYaml(
    "grafana/provisioning/dashboards/vigil.yml",
  ) as { providers: { options: { path: string } }[] };
  const path = providers.providers[0]!.options.path;
  const grafana = compose.services.grafana!;
  const mount = grafana.volumes!.find((v) => v.split(":")[1] === path);
  assert.equal(mount?.split(":")[0], "./generated/dashboards");
  for (const dir of ["datasources", "dashboards"]) {
    assert.ok(
      grafana.volumes!.includes(
        `./grafana/provisioning/${dir}:/etc/grafana/provisioning/${dir}:ro`,
      ),
    );
  }
  assert.ok(filesUnder(new URL("generated/dashboards/", DEPLOY)).length > 0);
});

Deno.test("deploy/Dockerfile: official Deno image, probe HEALTHCHECK, start task on 0.0.0.0", () => {
  const text = Deno.readTextFileSync(new URL("Dockerfile", DEPLOY));
  const deno = JSON.parse(
    Deno.readTextFileSync(new URL("deno.json", ROOT)),
  ) as { tasks: Record<string, string> };
  assert.match(text, /^FROM denoland\/deno:2\.9\.6$/m);
  assert.match(text, new RegExp(`^EXPOSE ${PORT}$`, "m"));
  assert.ok(
    text.includes(`CMD ["deno", "task", "probe", "${PROBE_URL}"]`),
  );
  assert.ok(
    text.includes(`CMD ["deno", "task", "start", "--hostname", "0.0.0.0"]`),
  );
  assert.ok(deno.tasks.start !== undefined && deno.tasks.probe !== undefined);
  // Every file the image copies is in the repository.
  for (const match of text.matchAll(/^COPY (.+) \S+$/gm)) {
    for (const source of match[1]!.split(" ")) {
      assert.ok(Deno.statSync(new URL(source, ROOT)), source);
    }
  }
  for (const match of text.matchAll(/(src\/\S+\.ts)/g)) {
    assert.ok(Deno.statSync(new URL(match[1]!, ROOT)).isFile, match[1]);
  }
});

Deno.test("deploy/generated/prometheus-operator.yaml carries the generated rules", () => {
  const documents = parseAllDocuments(
    Deno.readTextFileSync(
      new URL("generated/prometheus-operator.yaml", DEPLOY),
    ),
  ).map((d) => d.toJS());
  const monitor = documents.find((d) => d.kind === "ServiceMonitor");
  const rule = documents.find((d) => d.kind === "PrometheusRule");
  const rules = readYaml("generated/rules/vigil.rules.yml") as {
    groups: unknown[];
  };
  assert.deepEqual(rule.spec.groups, rules.groups);
  const k8s = parseAllDocuments(
    Deno.readTextFileSync(new URL("kubernetes.yaml", DEPLOY)),
  ).map((d) => d.toJS());
  const service = k8s.find((d) => d.kind === "Service");
  const deployment = k8s.find((d) => d.kind === "Deployment");
  assert.deepEqual(monitor.spec.selector.matchLabels, service.spec.selector);
  assert.ok(
    service.spec.ports.some((p: { name: string }) =>
      p.name === monitor.spec.endpoints[0].port
    ),
  );
  assert.equal(monitor.spec.endpoints[0].path, "/metrics");
  const container = deployment.spec.template.spec.containers[0];
  assert.equal(container.startupProbe.httpGet.path, "/health/live");
  assert.ok(container.resources.requests.cpu !== undefined);
  assert.ok(container.resources.limits.memory !== undefined);
});
