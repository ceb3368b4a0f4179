// Loading: YAML text or a file, checked against the schema and merged onto
// the embedded defaults.
import DEFAULT_YAML from "./default.yaml" with { type: "text" };
import { LineCounter, parseDocument } from "yaml";
import { ConfigError } from "./errors.ts";
import { Reader } from "./_schema.ts";
import { CONFIG } from "./_config_schema.ts";
import { decodeUtf8 } from "./_utf8.ts";
import type { VigilConfig } from "./types.ts";

export { ConfigError, type ConfigErrorOptions } from "./errors.ts";
// src/cli.ts imports these from here.
export { applyEnv, ENV_VARIABLES } from "./env.ts";

const YAML_ENV_HINT =
  "the yaml library reads the environment variables LOG_TOKENS and LOG_STREAM (run with --ignore-env=LOG_TOKENS,LOG_STREAM)";

/** Parses and checks `text`; absent keys come from `base`, or are missing. */
function read(text: string, source: string, base?: VigilConfig): VigilConfig {
  const lines = new LineCounter();
  let doc;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  } catch (error) {
    // yaml reads LOG_TOKENS and LOG_STREAM on every parse (a debug switch).
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    throw new ConfigError(source, `cannot parse YAML: ${YAML_ENV_HINT}`, {
      cause: error,
    });
  }
  const reader = new Reader(source, doc, lines);
  const [bad] = [...doc.errors, ...doc.warnings];
  if (bad !== undefined) {
    const detail = bad.message.charAt(0).toLowerCase() + bad.message.slice(1);
    reader.fail({ range: bad.pos }, "", `invalid YAML: ${detail}`, bad);
  }
  return CONFIG.read(doc.contents, "", reader, base);
}

/**
 * Returns the embedded default configuration: every key, with the values of
 * `src/config/default.yaml`.
 *
 * @returns A fresh copy of the defaults.
 *
 * @example Read a default
 * ```ts
 * import { defaultConfig } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * const config = defaultConfig();
 * assert.equal(config.server.port, 9464);
 * assert.equal(config.service.version, "unknown");
 * assert.deepEqual(config.server.auth, { type: "none" });
 * assert.deepEqual(config.health.checks.map((c) => c.name), ["event_loop", "memory", "workers"]);
 * ```
 */
export function defaultConfig(): VigilConfig {
  return read(DEFAULT_YAML, "default.yaml");
}

/**
 * Parses and checks a YAML configuration and merges it onto the defaults.
 * A file only overrides the keys it names; lists (`health.checks`,
 * `drift.models`, `metrics.buckets`), maps (`server.aliases`,
 * `metrics.defaultLabels`) and `server.auth` replace the default as a whole.
 * An empty document gives the defaults.
 *
 * The `yaml` library reads the variables `LOG_TOKENS` and `LOG_STREAM` on
 * every parse, so a program without `--allow-env` for them needs
 * `--ignore-env=LOG_TOKENS,LOG_STREAM`; without either, this throws a
 * {@linkcode ConfigError} that says so.
 *
 * @param text The YAML text.
 * @param source The file name, for error messages.
 * @returns The full configuration.
 * @throws {ConfigError} At the first problem: YAML syntax, an unknown or
 * missing key, a wrong type, a value out of range, a duplicate name. The
 * ranges are what the server can start with: timers up to 2147483647 ms
 * (the longest `setTimeout` delay), at most 254 histogram buckets, 0 to 64
 * aggregation workers.
 *
 * @example Override the port and add a check
 * ```ts
 * import { parseConfig } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * const config = parseConfig(
 *   [
 *     "server:",
 *     "  port: 8080",
 *     "health:",
 *     "  checks:",
 *     "    - { name: db, type: tcp, host: db.internal, port: 5432 }",
 *   ].join("\n"),
 *   "vigil.yaml",
 * );
 * assert.equal(config.server.port, 8080);
 * assert.equal(config.server.hostname, "127.0.0.1");
 * assert.deepEqual(config.health.checks, [{
 *   name: "db",
 *   type: "tcp",
 *   host: "db.internal",
 *   port: 5432,
 *   critical: true,
 *   timeoutMs: 5000,
 *   intervalMs: 10000,
 *   componentType: "datastore",
 * }]);
 * ```
 *
 * @example Report an unknown key
 * ```ts
 * import { parseConfig } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => parseConfig("logging:\n  lvl: debug\n", "vigil.yaml"), {
 *   name: "ConfigError",
 *   message:
 *     "vigil.yaml:2:3: logging.lvl: unknown key (expected one of: level, format, levels, file, maxFieldLength, queueSize, accessLog)",
 * });
 * ```
 *
 * @example Refuse a timer longer than `setTimeout` can wait
 * ```ts
 * import { parseConfig } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => parseConfig("server:\n  shutdownTimeoutMs: 3000000000\n", "vigil.yaml"), {
 *   name: "ConfigError",
 *   message: "vigil.yaml:2:22: server.shutdownTimeoutMs: expected an integer from 1 to 2147483647, got 3000000000",
 * });
 * ```
 */
export function parseConfig(text: string, source: string): VigilConfig {
  return read(text, source, defaultConfig());
}

/**
 * Reads a YAML configuration file and parses it with
 * {@linkcode parseConfig}. The file must be UTF-8; a leading byte order
 * mark is allowed.
 *
 * @param path The file to read.
 * @returns The full configuration.
 * @throws {ConfigError} When the file cannot be read (the read error is the
 * `cause`), is not UTF-8 (at the line and column of the first bad byte:
 * `vigil.yaml:3:12: invalid UTF-8 (byte 0xE9)`) or its content is invalid.
 *
 * @example Report a missing file
 * ```ts
 * import { loadConfig } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(loadConfig("no/such/vigil.yaml"), {
 *   name: "ConfigError",
 *   message: "no/such/vigil.yaml: cannot read the config file: no such file",
 * });
 * ```
 */
export async function loadConfig(path: string): Promise<VigilConfig> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.NotCapable ||
          error instanceof Deno.errors.PermissionDenied
      ? "permission denied (run with --allow-read)"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new ConfigError(path, `cannot read the config file: ${reason}`, {
      cause: error,
    });
  }
  return parseConfig(decodeUtf8(bytes, path), path);
}
