import assert from "node:assert/strict";
import {
  maskSecrets,
  parseConfig,
  type VigilConfig,
} from "../../src/config/mod.ts";
import { DEFAULTS, readFixture } from "./_helpers.ts";

Deno.test("maskSecrets() hides tokens, passwords, DSNs and URL credentials", async (t) => {
  const production = parseConfig(readFixture("production.yaml"), "p.yaml");
  await t.step("production.yaml", () => {
    const shown = maskSecrets(production);
    const checks = production.health.checks;
    assert.deepEqual(shown, {
      ...production,
      server: { ...production.server, auth: { type: "bearer", token: "***" } },
      health: {
        checks: [
          checks[0],
          { ...checks[1], url: "https://***@payments.internal/healthz" },
          checks[2],
        ],
      },
      drift: { ...production.drift, writeToken: "***" },
      errors: { ...production.errors, sentryDsn: "***" },
    });
    const text = JSON.stringify(shown);
    for (
      const secret of [
        "prod-token-7f3a",
        "hunter2",
        "abc123",
        "prod-write-9c1e",
      ]
    ) {
      assert.ok(!text.includes(secret), secret);
    }
  });
  await t.step("the copy is deep and the input unchanged", () => {
    const before = structuredClone(production);
    const shown = maskSecrets(production);
    (shown.metrics.buckets as number[]).push(99);
    assert.deepEqual(production, before);
  });
  await t.step("basic auth keeps the username and hides the password", () => {
    const config = parseConfig(
      "server:\n  auth: {type: basic, username: ops, password: pw}\n",
      "c.yaml",
    );
    assert.deepEqual(maskSecrets(config).server.auth, {
      type: "basic",
      username: "ops",
      password: "***",
    });
  });
  await t.step(
    "empty secrets stay empty and plain URLs stay as they are",
    () => {
      const config: VigilConfig = {
        ...DEFAULTS,
        server: { ...DEFAULTS.server, auth: { type: "bearer", token: "" } },
        tracing: {
          ...DEFAULTS.tracing,
          endpoint: "http://u:p@collector:4318/v1",
        },
      };
      const shown = maskSecrets(config);
      assert.deepEqual(shown.server.auth, { type: "bearer", token: "" });
      assert.equal(shown.errors.sentryDsn, "");
      assert.equal(shown.drift.writeToken, "");
      assert.equal(shown.tracing.endpoint, "http://***@collector:4318/v1");
      assert.deepEqual(shown.health, DEFAULTS.health);
    },
  );
  await t.step("check URLs lose credentials and secret query values", () => {
    const config = parseConfig(
      [
        "health:",
        "  checks:",
        "    - { name: a, type: http, url: 'https://api.internal/health?api_key=k1&region=eu' }",
        "    - { name: b, type: http, url: 'http://ops:pw@b.internal/?token=t2' }",
        "    - { name: c, type: http, url: 'http://c.internal/health?verbose=1' }",
      ].join("\n"),
      "c.yaml",
    );
    const urls = maskSecrets(config).health.checks.map((check) =>
      check.type === "http" ? check.url : check.type
    );
    assert.deepEqual(urls, [
      "https://api.internal/health?api_key=***&region=eu",
      "http://***@b.internal/?token=***",
      "http://c.internal/health?verbose=1",
    ]);
  });
  await t.step(
    "the tracing endpoint loses credentials and secret query values",
    () => {
      const config: VigilConfig = {
        ...DEFAULTS,
        tracing: {
          ...DEFAULTS.tracing,
          endpoint: "https://u:p@collector:4318/v1?access_token=t3&tenant=a",
        },
      };
      assert.equal(
        maskSecrets(config).tracing.endpoint,
        "https://***@collector:4318/v1?access_token=***&tenant=a",
      );
    },
  );
  await t.step("the result has the input's type and keys", () => {
    const production = parseConfig(readFixture("production.yaml"), "p.yaml");
    const shown: VigilConfig = maskSecrets(production);
    const keys = (value: unknown): string[] =>
      typeof value === "object" && value !== null
        ? Object.entries(value).flatMap(([key, inner]) => [
          key,
          ...keys(inner).map((k) => `${key}.${k}`),
        ])
        : [];
    assert.deepEqual(keys(shown), keys(production));
  });
});
