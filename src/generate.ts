/**
 * `deno task generate --out <dir> [--config <file>]`: writes what a
 * Prometheus, Alertmanager and Grafana need to watch Vigil, for the metrics
 * the configuration and Vigil's own features register:
 *
 * - `<dir>/dashboards/<uid>.json`, one Grafana dashboard each;
 * - `<dir>/rules/vigil.rules.yml` and its `promtool test rules` file
 *   `<dir>/rules/vigil.rules.test.yml`, with the thresholds of the config's
 *   `alerts` section;
 * - with `slos` in the config, `<dir>/rules/vigil.slo.rules.yml` and its
 *   tests `<dir>/rules/vigil.slo.rules.test.yml`, and an SLO dashboard;
 * - `<dir>/prometheus.yml`, scraping Vigil at its configured address, loading
 *   the rules and sending alerts to Alertmanager;
 * - `<dir>/alertmanager.yml`, routing by severity to a webhook receiver whose
 *   URL is a placeholder to replace;
 * - `<dir>/prometheus-operator.yaml`, for Prometheus Operator: a
 *   `ServiceMonitor` for the Service labelled
 *   `app.kubernetes.io/name: <service>` and a `PrometheusRule` carrying
 *   every generated rule group.
 *
 * The metrics are those a server started from the configuration registers:
 * Vigil is started on a free loopback port (health checks left out, since
 * they only add results, not metrics), read, and stopped.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parse, stringify } from "yaml";
import { applyEnv } from "./config/env.ts";
import { loadConfig } from "./config/load.ts";
import { defaultConfig } from "./config/mod.ts";
import type { VigilConfig } from "./config/types.ts";
import { startVigil } from "./app.ts";
import { configureLogging } from "./logging/mod.ts";
import { declaredKits } from "./kits/mod.ts";
import { generateDashboards } from "./dashboards/mod.ts";
import { generateAlertRules, generateSloRules } from "./alerts/mod.ts";

/** Where Prometheus finds Alertmanager in the generated `prometheus.yml`. */
export const ALERTMANAGER_TARGET = "alertmanager:9093";

/** The webhook URL placeholder of the generated `alertmanager.yml`. */
export const WEBHOOK_PLACEHOLDER = "http://alert-receiver.example:5001/";

/** What {@linkcode generateFiles} wrote, by path relative to its directory. */
export type GeneratedFiles = ReadonlyMap<string, string>;

/**
 * The files for a configuration, not yet written.
 *
 * @param config The configuration Vigil runs with.
 * @returns The files' contents by relative path.
 *
 * @example The files of the default configuration
 * ```ts
 * import { defaultConfig } from "@vigil/observe/config";
 * import { generateFiles } from "@vigil/observe/generate";
 * import assert from "node:assert/strict";
 *
 * const files = await generateFiles(defaultConfig());
 * assert.ok(files.has("prometheus.yml"));
 * assert.ok(files.has("rules/vigil.rules.yml"));
 * ```
 */
export async function generateFiles(
  config: VigilConfig,
): Promise<GeneratedFiles> {
  if (config.server.port === 0) {
    throw new RangeError(
      "Cannot generate files: server.port is 0 (any free port), but Prometheus needs the port it scrapes: set server.port",
    );
  }
  // Its families only: no sink writes, and nothing else is configured.
  const logging = await configureLogging({ stdout: false });
  const app = startVigil({
    ...config,
    server: {
      ...config.server,
      hostname: "127.0.0.1",
      port: 0,
      drainDelayMs: 0,
    },
    health: { checks: [] },
    logging: {
      ...config.logging,
      file: { ...config.logging.file, directory: "" },
    },
    errors: { ...config.errors, sentryDsn: "" },
  }, { logging, onListen: () => {} });
  const files = new Map<string, string>();
  const service = config.service.name;
  const ruleFiles = ["rules/vigil.rules.yml"];
  const groups: unknown[] = [];
  try {
    const kits = declaredKits(config.kits);
    for (
      const dashboard of await generateDashboards(app.registry, {
        service,
        slos: config.slos,
        kits,
      })
    ) {
      files.set(
        `dashboards/${dashboard.uid}.json`,
        `${JSON.stringify(dashboard, null, 2)}\n`,
      );
    }
    const { rules, tests } = await generateAlertRules(app.registry, {
      ...config.alerts,
      job: service,
      buckets: config.metrics.buckets,
      kits,
      rulesFile: "vigil.rules.yml",
    });
    files.set("rules/vigil.rules.yml", rules);
    files.set("rules/vigil.rules.test.yml", tests);
    groups.push(...(parse(rules) as { groups: unknown[] }).groups);
    if (config.slos.length > 0) {
      const slo = await generateSloRules(app.registry, config.slos, {
        runbookBase: config.alerts.runbookBase,
        rulesFile: "vigil.slo.rules.yml",
        buckets: config.metrics.buckets,
        job: service,
      });
      files.set("rules/vigil.slo.rules.yml", slo.rules);
      files.set("rules/vigil.slo.rules.test.yml", slo.tests);
      ruleFiles.push("rules/vigil.slo.rules.yml");
      groups.push(...(parse(slo.rules) as { groups: unknown[] }).groups);
    }
  } finally {
    await app.shutdown();
    await logging.close();
  }
  const { hostname, port } = config.server;
  const host = hostname === "0.0.0.0" || hostname === "::" ? "vigil" : hostname;
  files.set(
    "prometheus.yml",
    stringify({
      global: { scrape_interval: "15s", evaluation_interval: "15s" },
      rule_files: ruleFiles,
      alerting: {
        alertmanagers: [{
          static_configs: [{ targets: [ALERTMANAGER_TARGET] }],
        }],
      },
      scrape_configs: [{
        job_name: config.service.name,
        metrics_path: "/metrics",
        // Pushed series keep their own job and grouping labels, as
        // Pushgateway's documentation asks of the job scraping it.
        ...(config.ingest.push.enabled ? { honor_labels: true } : {}),
        ...scrapeAuth(config.server.auth),
        static_configs: [{
          targets: [`${host.includes(":") ? `[${host}]` : host}:${port}`],
        }],
      }],
    }),
  );
  files.set("alertmanager.yml", stringify(alertmanagerConfig()));
  files.set("prometheus-operator.yaml", operatorManifests(service, groups));
  return files;
}

/**
 * The generated `alertmanager.yml`: alerts grouped by name and job, critical
 * ones to the `page` receiver and warnings to `ticket`, both webhooks.
 *
 * @param webhookBase The receivers' URLs are this with `page` or `ticket`
 * appended.
 * @returns The configuration, to write as YAML.
 *
 * @example Route to your own receiver
 * ```ts
 * import { alertmanagerConfig } from "@vigil/observe/generate";
 * import assert from "node:assert/strict";
 *
 * const config = alertmanagerConfig("http://127.0.0.1:5001/");
 * assert.equal(config.receivers[0]!.webhook_configs[0]!.url, "http://127.0.0.1:5001/page");
 * ```
 */
export function alertmanagerConfig(
  webhookBase: string = WEBHOOK_PLACEHOLDER,
): AlertmanagerConfig {
  return {
    route: {
      receiver: "ticket",
      group_by: ["alertname", "job"],
      routes: [
        { matchers: ['severity="critical"'], receiver: "page" },
        { matchers: ['severity="warning"'], receiver: "ticket" },
      ],
    },
    receivers: ["page", "ticket"].map((name) => ({
      name,
      webhook_configs: [{ url: webhookBase + name }],
    })),
  };
}

/** What {@linkcode alertmanagerConfig} returns: the keys it sets. */
export interface AlertmanagerConfig {
  /** The routing tree: by severity to a receiver. */
  route: {
    receiver: string;
    group_by: string[];
    routes: { matchers: string[]; receiver: string }[];
    [key: string]: unknown;
  };
  /** The `page` and `ticket` webhooks. */
  receivers: { name: string; webhook_configs: { url: string }[] }[];
}

/**
 * Where the generated `prometheus.yml` reads Vigil's token or password
 * from, beside it (Prometheus resolves the path from its config file).
 */
export const CREDENTIALS_FILE = "vigil-credentials";

/**
 * The scrape's credentials for `server.auth`, read from
 * {@linkcode CREDENTIALS_FILE}: a secret never goes into a generated file.
 */
function scrapeAuth(auth: VigilConfig["server"]["auth"]): object {
  switch (auth.type) {
    case "none":
      return {};
    case "bearer":
      return {
        authorization: { type: "Bearer", credentials_file: CREDENTIALS_FILE },
      };
    case "basic":
      return {
        basic_auth: {
          username: auth.username,
          password_file: CREDENTIALS_FILE,
        },
      };
  }
}

/**
 * A `ServiceMonitor` and a `PrometheusRule` for Prometheus Operator, named
 * and selecting by the service's name as a Kubernetes name.
 */
function operatorManifests(service: string, groups: unknown[]): string {
  const name = service.toLowerCase().replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "") || "vigil";
  const labels = { "app.kubernetes.io/name": name };
  const yaml = { lineWidth: 0, aliasDuplicateObjects: false } as const;
  return [
    "# Generated by `deno task generate`: a ServiceMonitor scraping the Service",
    `# labelled app.kubernetes.io/name: ${name} on its port named "metrics",`,
    "# and a PrometheusRule carrying every generated rule group.",
    "#",
    "#   kubectl apply -f prometheus-operator.yaml",
    stringify({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name, labels },
      spec: {
        selector: { matchLabels: labels },
        endpoints: [{ port: "metrics", path: "/metrics", interval: "15s" }],
      },
    }, yaml) + "---",
    stringify({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name, labels },
      spec: { groups },
    }, yaml),
  ].join("\n");
}

/**
 * Runs the command.
 *
 * @param args The command-line arguments.
 * @returns The exit code: 0 when the files are written, 2 for bad arguments
 * or an invalid configuration.
 */
export async function generate(args: readonly string[]): Promise<number> {
  let out: string;
  let config: VigilConfig;
  try {
    const { values } = parseArgs({
      args: [...args],
      options: { out: { type: "string" }, config: { type: "string" } },
    });
    if (values.out === undefined || values.out === "") {
      throw new TypeError("--out <dir> is required");
    }
    // `deno task` runs in the project: a relative path is the caller's.
    const caller = Deno.permissions.querySync({
        name: "env",
        variable: "INIT_CWD",
      }).state === "granted"
      ? Deno.env.get("INIT_CWD")
      : undefined;
    out = values.out.startsWith("/") || caller === undefined || caller === ""
      ? values.out
      : `${caller}/${values.out}`;
    config = applyEnv(
      values.config === undefined
        ? defaultConfig()
        : await loadConfig(values.config),
      (name) =>
        Deno.permissions.querySync({ name: "env", variable: name }).state ===
            "granted"
          ? Deno.env.get(name)
          : undefined,
    );
    if (config.server.port === 0) {
      throw new RangeError(
        "server.port is 0 (any free port), but Prometheus needs the port it scrapes: set server.port or VIGIL_PORT",
      );
    }
  } catch (error) {
    console.error(
      `generate: ${
        error instanceof Error ? error.message : String(error)
      }\nusage: deno task generate --out <dir> [--config <file>]`,
    );
    return 2;
  }
  const files = await generateFiles(config);
  for (const [path, text] of files) {
    const target = `${out}/${path}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), {
      recursive: true,
    });
    await Deno.writeTextFile(target, text);
  }
  console.log(`Wrote ${files.size} files to ${out}`);
  return 0;
}

if (import.meta.main) Deno.exit(await generate(Deno.args));
