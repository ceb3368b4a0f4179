/**
 * `deno task generate --out <dir> [--config <file>]`: writes what a
 * Prometheus, Alertmanager and Grafana need to watch Vigil, for the metrics
 * the configuration and Vigil's own features register:
 *
 * - `<dir>/dashboards/<uid>.json`, one Grafana dashboard each;
 * - `<dir>/rules/vigil.rules.yml` and its `promtool test rules` file
 *   `<dir>/rules/vigil.rules.test.yml`;
 * - `<dir>/prometheus.yml`, scraping Vigil at its configured address, loading
 *   the rules and sending alerts to Alertmanager;
 * - `<dir>/alertmanager.yml`, routing by severity to a webhook receiver whose
 *   URL is a placeholder to replace.
 *
 * The metrics are those a server started from the configuration registers:
 * Vigil is started on a free loopback port (health checks left out, since
 * they only add results, not metrics), read, and stopped.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { loadConfig } from "./config/load.ts";
import { defaultConfig } from "./config/mod.ts";
import type { VigilConfig } from "./config/types.ts";
import { startVigil } from "./app.ts";
import { generateDashboards } from "./dashboards/mod.ts";
import { generateAlertRules } from "./alerts/mod.ts";

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
  }, { onListen: () => {} });
  const files = new Map<string, string>();
  try {
    const service = config.service.name;
    for (
      const dashboard of await generateDashboards(app.registry, { service })
    ) {
      files.set(
        `dashboards/${dashboard.uid}.json`,
        `${JSON.stringify(dashboard, null, 2)}\n`,
      );
    }
    const { rules, tests } = await generateAlertRules(app.registry, {
      rulesFile: "vigil.rules.yml",
    });
    files.set("rules/vigil.rules.yml", rules);
    files.set("rules/vigil.rules.test.yml", tests);
  } finally {
    await app.shutdown();
  }
  const { hostname, port } = config.server;
  const host = hostname === "0.0.0.0" || hostname === "::" ? "vigil" : hostname;
  files.set(
    "prometheus.yml",
    stringify({
      global: { scrape_interval: "15s", evaluation_interval: "15s" },
      rule_files: ["rules/vigil.rules.yml"],
      alerting: {
        alertmanagers: [{
          static_configs: [{ targets: [ALERTMANAGER_TARGET] }],
        }],
      },
      scrape_configs: [{
        job_name: config.service.name,
        metrics_path: "/metrics",
        static_configs: [{
          targets: [`${host.includes(":") ? `[${host}]` : host}:${port}`],
        }],
      }],
    }),
  );
  files.set(
    "alertmanager.yml",
    stringify({
      route: {
        receiver: "ticket",
        group_by: ["alertname", "job"],
        routes: [
          { matchers: ['severity="critical"'], receiver: "page" },
          { matchers: ['severity="warning"'], receiver: "ticket" },
        ],
      },
      receivers: [
        {
          name: "page",
          webhook_configs: [{ url: WEBHOOK_PLACEHOLDER + "page" }],
        },
        {
          name: "ticket",
          webhook_configs: [{ url: WEBHOOK_PLACEHOLDER + "ticket" }],
        },
      ],
    }),
  );
  return files;
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
    config = values.config === undefined
      ? defaultConfig()
      : await loadConfig(values.config);
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
