import assert from "node:assert/strict";
import {
  applyEnv,
  defaultConfig,
  ENV_VARIABLES,
  parseConfig,
} from "../../src/config/mod.ts";
import { configError, DEFAULTS, readFixture } from "./_helpers.ts";

Deno.test("applyEnv() overrides the configuration from VIGIL_* variables", () => {
  const env: Record<string, string> = {
    VIGIL_PORT: " 9000 ",
    VIGIL_HOSTNAME: "0.0.0.0",
    VIGIL_SERVICE_NAME: "checkout",
    VIGIL_ENVIRONMENT: "staging",
    VIGIL_LOG_LEVEL: "debug",
    VIGIL_LOG_FORMAT: "pretty",
    VIGIL_AUTH_TOKEN: "s3cret",
    VIGIL_SENTRY_DSN: "https://k@sentry.internal/1",
    VIGIL_TRACING_ENDPOINT: "http://collector:4318",
    VIGIL_WRITE_TOKEN: "w-9c1e",
  };
  assert.deepEqual([...ENV_VARIABLES].sort(), Object.keys(env).sort());
  const base = defaultConfig();
  const config = applyEnv(base, (name) => env[name]);
  assert.deepEqual(config, {
    ...DEFAULTS,
    service: { ...DEFAULTS.service, name: "checkout", environment: "staging" },
    server: {
      ...DEFAULTS.server,
      port: 9000,
      hostname: "0.0.0.0",
      auth: { type: "bearer", token: "s3cret" },
    },
    logging: { ...DEFAULTS.logging, level: "debug", format: "pretty" },
    tracing: {
      ...DEFAULTS.tracing,
      endpoint: "http://collector:4318",
      enabled: true,
    },
    drift: { ...DEFAULTS.drift, writeToken: "w-9c1e" },
    errors: { ...DEFAULTS.errors, sentryDsn: "https://k@sentry.internal/1" },
  });
  assert.deepEqual(base, DEFAULTS, "the input is not changed");
});

Deno.test("applyEnv() changes nothing when no variable is set", () => {
  assert.deepEqual(applyEnv(defaultConfig(), () => undefined), DEFAULTS);
});

Deno.test("applyEnv() reports an invalid value with the variable as source", async (t) => {
  const cases: [string, string, string][] = [
    [
      "VIGIL_PORT",
      "http",
      'VIGIL_PORT: server.port: expected an integer from 0 to 65535, got "http"',
    ],
    [
      "VIGIL_PORT",
      "70000",
      "VIGIL_PORT: server.port: expected an integer from 0 to 65535, got 70000",
    ],
    [
      "VIGIL_PORT",
      "",
      'VIGIL_PORT: server.port: expected an integer from 0 to 65535, got ""',
    ],
    [
      "VIGIL_HOSTNAME",
      " ",
      'VIGIL_HOSTNAME: server.hostname: expected a non-empty string, got " "',
    ],
    [
      "VIGIL_LOG_LEVEL",
      "loud",
      'VIGIL_LOG_LEVEL: logging.level: expected "debug", "info", "warning", "error", "fatal" or "warn", got "loud"',
    ],
    [
      "VIGIL_LOG_FORMAT",
      "colour",
      'VIGIL_LOG_FORMAT: logging.format: expected "json" or "pretty", got "colour"',
    ],
    [
      "VIGIL_AUTH_TOKEN",
      "",
      'VIGIL_AUTH_TOKEN: server.auth.token: expected a non-empty string, got ""',
    ],
    [
      "VIGIL_SENTRY_DSN",
      "dsn",
      `VIGIL_SENTRY_DSN: errors.sentryDsn: expected an http(s) URL or "", got "dsn"`,
    ],
    [
      "VIGIL_TRACING_ENDPOINT",
      "collector:4318",
      'VIGIL_TRACING_ENDPOINT: tracing.endpoint: expected an http(s) URL, got "collector:4318"',
    ],
    // Empty is refused rather than read as "none": an unset variable in a
    // deployment template must not turn the file's write token off.
    [
      "VIGIL_WRITE_TOKEN",
      "",
      'VIGIL_WRITE_TOKEN: drift.writeToken: expected a non-empty token without spaces, got ""',
    ],
    [
      "VIGIL_WRITE_TOKEN",
      "two words",
      'VIGIL_WRITE_TOKEN: drift.writeToken: expected a non-empty token without spaces, got "two words"',
    ],
  ];
  for (const [name, value, message] of cases) {
    await t.step(message, () => {
      const error = configError(() =>
        applyEnv(defaultConfig(), (n) => n === name ? value : undefined)
      );
      assert.equal(error.message, message);
      assert.equal(error.source, name);
      assert.equal(error.line, undefined);
      assert.equal(error.column, undefined);
    });
  }
  await t.step("VIGIL_LOG_LEVEL=warn reads as warning", () => {
    const config = applyEnv(
      defaultConfig(),
      (n) => n === "VIGIL_LOG_LEVEL" ? "warn" : undefined,
    );
    assert.equal(config.logging.level, "warning");
  });
  await t.step("a service name that looks like a number stays a string", () => {
    const config = applyEnv(
      defaultConfig(),
      (n) => n === "VIGIL_SERVICE_NAME" ? "123" : undefined,
    );
    assert.equal(config.service.name, "123");
  });
  await t.step("an empty VIGIL_SENTRY_DSN turns error tracking off", () => {
    const production = parseConfig(readFixture("production.yaml"), "p.yaml");
    const config = applyEnv(
      production,
      (n) => n === "VIGIL_SENTRY_DSN" ? "" : undefined,
    );
    assert.equal(config.errors.sentryDsn, "");
  });
  await t.step("VIGIL_WRITE_TOKEN replaces the file's write token", () => {
    const production = parseConfig(readFixture("production.yaml"), "p.yaml");
    const config = applyEnv(
      production,
      (n) => n === "VIGIL_WRITE_TOKEN" ? "from-env" : undefined,
    );
    assert.equal(config.drift.writeToken, "from-env");
    assert.deepEqual(config.drift.models, production.drift.models);
  });
});
