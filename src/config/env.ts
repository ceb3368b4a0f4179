// Environment overrides: `VIGIL_*` variables, checked like the file's values.
import { oneOf, Reader, type Schema } from "./_schema.ts";
import {
  DSN,
  HTTP_URL,
  LOG_LEVEL,
  PORT,
  TEXT,
  WRITE_TOKEN_SET,
} from "./_config_schema.ts";
import type { VigilConfig } from "./types.ts";

interface EnvRule {
  readonly name: string;
  apply(config: VigilConfig, raw: string): VigilConfig;
}

/**
 * A variable that sets the value at `path`, checked by `schema`. A numeric
 * one turns a numeral into a number, so "9464" passes and "http" is reported.
 */
function envRule<V>(
  name: string,
  path: string,
  schema: Schema<V>,
  set: (config: VigilConfig, value: V) => VigilConfig,
  numeric = false,
): EnvRule {
  return {
    name,
    apply(config, raw) {
      const value = numeric && /^\s*-?\d+(\.\d+)?\s*$/.test(raw)
        ? Number(raw)
        : raw;
      return set(config, schema.read(value, path, new Reader(name)));
    },
  };
}

const ENV_RULES: readonly EnvRule[] = [
  envRule("VIGIL_PORT", "server.port", PORT, (c, port) => ({
    ...c,
    server: { ...c.server, port },
  }), true),
  envRule("VIGIL_HOSTNAME", "server.hostname", TEXT, (c, hostname) => ({
    ...c,
    server: { ...c.server, hostname },
  })),
  envRule("VIGIL_SERVICE_NAME", "service.name", TEXT, (c, name) => ({
    ...c,
    service: { ...c.service, name },
  })),
  envRule("VIGIL_ENVIRONMENT", "service.environment", TEXT, (c, env) => ({
    ...c,
    service: { ...c.service, environment: env },
  })),
  envRule("VIGIL_LOG_LEVEL", "logging.level", LOG_LEVEL, (c, level) => ({
    ...c,
    logging: { ...c.logging, level },
  })),
  envRule(
    "VIGIL_LOG_FORMAT",
    "logging.format",
    oneOf(["json", "pretty"]),
    (c, format) => ({ ...c, logging: { ...c.logging, format } }),
  ),
  envRule("VIGIL_AUTH_TOKEN", "server.auth.token", TEXT, (c, token) => ({
    ...c,
    server: { ...c.server, auth: { type: "bearer", token } },
  })),
  envRule("VIGIL_SENTRY_DSN", "errors.sentryDsn", DSN, (c, sentryDsn) => ({
    ...c,
    errors: { ...c.errors, sentryDsn },
  })),
  envRule("VIGIL_TRACING_ENDPOINT", "tracing.endpoint", HTTP_URL, (c, url) => ({
    ...c,
    tracing: { ...c.tracing, endpoint: url, enabled: true },
  })),
  envRule(
    "VIGIL_WRITE_TOKEN",
    "drift.writeToken",
    WRITE_TOKEN_SET,
    (c, writeToken) => ({ ...c, drift: { ...c.drift, writeToken } }),
  ),
];

/**
 * The environment variables {@linkcode applyEnv} reads, for `--allow-env`.
 *
 * @example Build the permission flag
 * ```ts
 * import { ENV_VARIABLES } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * const flag = `--allow-env=${ENV_VARIABLES.join(",")}`;
 * assert.ok(flag.includes("VIGIL_PORT"));
 * ```
 */
export const ENV_VARIABLES: readonly string[] = Object.freeze(
  ENV_RULES.map((rule) => rule.name),
);

/**
 * Overrides a configuration from `VIGIL_*` environment variables, checked
 * like the file's values: `VIGIL_PORT`, `VIGIL_HOSTNAME`,
 * `VIGIL_SERVICE_NAME`, `VIGIL_ENVIRONMENT`, `VIGIL_LOG_LEVEL`,
 * `VIGIL_AUTH_TOKEN` (bearer auth with that token), `VIGIL_SENTRY_DSN`,
 * `VIGIL_TRACING_ENDPOINT` (which also turns tracing on) and
 * `VIGIL_WRITE_TOKEN` (the drift API's write token). An unset variable
 * changes nothing; a set one, even empty, must be valid.
 *
 * @param config The configuration to override; it is not changed.
 * @param env Reads a variable, such as `(name) => Deno.env.get(name)`.
 * @returns The configuration with the overrides.
 * @throws {ConfigError} When a value is invalid; its `source` is the variable.
 *
 * @example Override the port and the token
 * ```ts
 * import { applyEnv, defaultConfig } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * const env: Record<string, string> = { VIGIL_PORT: "9000", VIGIL_AUTH_TOKEN: "s3cret" };
 * const config = applyEnv(defaultConfig(), (name) => env[name]);
 * assert.equal(config.server.port, 9000);
 * assert.deepEqual(config.server.auth, { type: "bearer", token: "s3cret" });
 *
 * assert.throws(() => applyEnv(defaultConfig(), () => "http"), {
 *   name: "ConfigError",
 *   message: 'VIGIL_PORT: server.port: expected an integer from 0 to 65535, got "http"',
 * });
 * ```
 */
export function applyEnv(
  config: VigilConfig,
  env: (name: string) => string | undefined,
): VigilConfig {
  return ENV_RULES.reduce((current, rule) => {
    const raw = env(rule.name);
    return raw === undefined ? current : rule.apply(current, raw);
  }, config);
}
