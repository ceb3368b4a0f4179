// Secret masking: a configuration that is safe to show.
import { MASK, redactUrl } from "../base/redact.ts";
import type { AuthConfig, VigilConfig } from "./types.ts";

const mask = (secret: string): string => secret === "" ? "" : MASK;

function maskAuth(auth: AuthConfig): AuthConfig {
  switch (auth.type) {
    case "none":
      return auth;
    case "bearer":
      return { ...auth, token: mask(auth.token) };
    case "basic":
      return { ...auth, password: mask(auth.password) };
  }
}

/**
 * Returns a deep copy of a configuration that is safe to show, as in
 * `/system/info`. The auth token or password, the drift API's write token
 * and the Sentry DSN become `"***"`; check and tracing URLs keep their shape but lose their secrets
 * by the rule of {@linkcode redactUrl}: the user and password
 * (`https://***@host/`) and the values of secret query parameters
 * (`?api_key=***`, `?token=***`). Empty secrets stay empty, so the copy
 * still tells whether one is set.
 *
 * @param config The configuration.
 * @returns A plain-data copy of the same shape, with the secrets masked.
 *
 * @example Mask a bearer token and a check URL
 * ```ts
 * import { applyEnv, maskSecrets, parseConfig } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * const config = applyEnv(
 *   parseConfig(
 *     "health:\n  checks:\n    - { name: api, type: http, url: 'https://ops:pw@api.internal/health?api_key=k1' }\n",
 *     "vigil.yaml",
 *   ),
 *   (name) => name === "VIGIL_AUTH_TOKEN" ? "s3cret" : undefined,
 * );
 * const shown = maskSecrets(config);
 * assert.deepEqual(shown.server.auth, { type: "bearer", token: "***" });
 * assert.equal(shown.health.checks[0]?.type === "http" && shown.health.checks[0].url, "https://***@api.internal/health?api_key=***");
 * assert.equal(shown.errors.sentryDsn, "");
 * ```
 */
export function maskSecrets(config: VigilConfig): VigilConfig {
  return structuredClone<VigilConfig>({
    ...config,
    server: { ...config.server, auth: maskAuth(config.server.auth) },
    health: {
      checks: config.health.checks.map((check) =>
        check.type === "http" ? { ...check, url: redactUrl(check.url) } : check
      ),
    },
    tracing: {
      ...config.tracing,
      endpoint: redactUrl(config.tracing.endpoint),
    },
    drift: { ...config.drift, writeToken: mask(config.drift.writeToken) },
    errors: { ...config.errors, sentryDsn: mask(config.errors.sentryDsn) },
  });
}
