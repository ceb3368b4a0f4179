/**
 * The configuration of the Vigil server: a YAML file merged onto embedded
 * defaults, then `VIGIL_*` environment variables. Every problem is a
 * {@linkcode ConfigError} that names the file, line, column and key.
 *
 * @example Load a file, then apply the environment
 * ```ts
 * import { applyEnv, ENV_VARIABLES, maskSecrets, parseConfig } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * // In the CLI: `await loadConfig(path)`, and `Deno.env.get` for the variables.
 * const fromFile = parseConfig("service:\n  name: checkout\n", "vigil.yaml");
 * const env: Record<string, string> = { VIGIL_ENVIRONMENT: "production" };
 * const config = applyEnv(fromFile, (name) => env[name]);
 *
 * assert.equal(config.service.name, "checkout");
 * assert.equal(config.service.environment, "production");
 * assert.equal(config.server.port, 9464);
 * assert.ok(ENV_VARIABLES.includes("VIGIL_ENVIRONMENT"));
 * assert.deepEqual(maskSecrets(config).server.auth, { type: "none" });
 * ```
 *
 * @module
 */
export { defaultConfig, loadConfig, parseConfig } from "./load.ts";
export { applyEnv, ENV_VARIABLES } from "./env.ts";
export { maskSecrets } from "./mask.ts";
export { ConfigError, type ConfigErrorOptions } from "./errors.ts";
export type {
  AuthConfig,
  CheckConfig,
  CheckConfigBase,
  DriftModelConfig,
  VigilConfig,
} from "./types.ts";
export {
  isSecretKey,
  MASK,
  redactText,
  redactUrl,
  SECRET_KEY_PARTS,
} from "../base/redact.ts";
export type { LogLevel } from "../base/log.ts";
