import DEFAULT_YAML from "../../fixtures/config/default.yaml" with {
  type: "text",
};
import { LineCounter, parseDocument } from "yaml";
import { LogLevel } from "../base/log.ts";
import { ConfigError } from "./errors.ts";
import {
  array,
  type Fields,
  type Issue,
  object,
  oneOf,
  optional,
  Reader,
  record,
  scalar,
  type Schema,
  union,
  withDefault,
} from "./_schema.ts";
import type {
  AuthConfig,
  CheckConfig,
  CheckConfigBase,
  DriftDetectorConfig,
  VigilConfig,
} from "./types.ts";

import { ROUTES } from "../base/routes.ts";

export { ConfigError, type ConfigErrorOptions } from "./errors.ts";

const YAML_ENV_HINT =
  "the yaml library reads the environment variables LOG_TOKENS and LOG_STREAM (run with --ignore-env=LOG_TOKENS,LOG_STREAM)";

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function integer(min: number, max?: number): Schema<number> {
  const expected = max !== undefined
    ? `an integer from ${min} to ${max}`
    : min === 0
    ? "a non-negative integer"
    : "a positive integer";
  return scalar(
    expected,
    (v): v is number =>
      Number.isSafeInteger(v) && (v as number) >= min &&
      (v as number) <= (max ?? Infinity),
  );
}

function isHttpUrl(v: unknown): v is string {
  const url = typeof v === "string" ? URL.parse(v) : null;
  return (url?.protocol === "http:" || url?.protocol === "https:") &&
    url.hostname !== "";
}

const PORT = integer(0, 65535);
const POSITIVE_INT = integer(1);
const NON_NEGATIVE_INT = integer(0);
const POSITIVE = scalar(
  "a positive number",
  (v): v is number => Number.isFinite(v) && (v as number) > 0,
);
const RATIO = scalar(
  "a number from 0 to 1",
  (v): v is number => typeof v === "number" && v >= 0 && v <= 1,
);
const BOOLEAN = scalar(
  "true or false",
  (v): v is boolean => typeof v === "boolean",
);
const TEXT = scalar(
  "a non-empty string",
  (v): v is string => typeof v === "string" && v.trim() !== "",
);
/** A check name: it keys `name:measurement` in the IETF health format. */
const CHECK_NAME = scalar(
  'a non-empty name without ":"',
  (v): v is string =>
    typeof v === "string" && v.trim() !== "" && !v.includes(":"),
);
const HTTP_URL = scalar("an http(s) URL", isHttpUrl);
const DSN = scalar(
  'an http(s) URL or ""',
  (v): v is string => v === "" || isHttpUrl(v),
);
const LOG_LEVEL = oneOf(Object.values(LogLevel));

const LABEL = scalar(
  `a label name matching ${LABEL_NAME.source}`,
  (v): v is string => typeof v === "string" && LABEL_NAME.test(v),
  (v) =>
    v.startsWith("__")
      ? `label name "${v}" is reserved: names starting with "__" belong to Prometheus`
      : v === "le" || v === "quantile"
      ? `label name "${v}" is reserved for histograms and summaries`
      : undefined,
);
const ALIAS = scalar(
  'a path starting with "/"',
  (v): v is string => typeof v === "string" && /^\/[^\s?#]*$/.test(v),
  (v) =>
    (ROUTES as readonly string[]).includes(v)
      ? `alias "${v}" would hide the route of that name`
      : undefined,
);

/** Reports `key` when it is not at least, or at most, `other`. */
function compare<T>(
  key: keyof T & string,
  bound: "at least" | "at most",
  other: keyof T & string,
): (value: T) => Issue | undefined {
  return (value) => {
    const a = value[key] as number;
    const b = value[other] as number;
    if (bound === "at least" ? a >= b : a <= b) return undefined;
    return {
      at: [key],
      problem: `expected ${bound} ${other} (${b}), got ${a}`,
    };
  };
}

/** Reports the second item of a list that reuses a name. */
function uniqueNames(
  what: string,
): (values: readonly { name: string }[], path: string) => Issue | undefined {
  return (values, path) => {
    const first = new Map<string, number>();
    for (const [i, { name }] of values.entries()) {
      const j = first.get(name);
      if (j !== undefined) {
        return {
          at: [i, "name"],
          problem:
            `duplicate ${what} name "${name}" (also used by ${path}[${j}])`,
        };
      }
      first.set(name, i);
    }
    return undefined;
  };
}

type Check<T extends CheckConfig["type"]> = Extract<CheckConfig, { type: T }>;

/** A check entry of `type`: its own keys, then those every check has. */
function check<T extends CheckConfig["type"]>(
  type: T,
  componentType: string,
  fields: Omit<Fields<Check<T>>, keyof CheckConfigBase | "type">,
  refine?: (value: Check<T>) => Issue | undefined,
): Schema<Check<T>> {
  const all = {
    name: CHECK_NAME,
    type: oneOf([type]),
    ...fields,
    critical: withDefault(BOOLEAN, true),
    timeoutMs: withDefault(POSITIVE_INT, 5000),
    intervalMs: withDefault(POSITIVE_INT, 10_000),
    componentType: withDefault(TEXT, componentType),
  } as unknown as Fields<Check<T>>;
  return object("a mapping", all, refine);
}

const CHECK = union<CheckConfig, "type">("type", {
  http: check("http", "http", {
    url: HTTP_URL,
    expectStatus: withDefault(array(integer(100, 599)), []),
  }),
  tcp: check("tcp", "datastore", { host: TEXT, port: integer(1, 65535) }),
  disk: check("disk", "system", {
    path: TEXT,
    warnFreeRatio: withDefault(RATIO, 0.2),
    failFreeRatio: withDefault(RATIO, 0.05),
  }, compare("failFreeRatio", "at most", "warnFreeRatio")),
  memory: check("memory", "system", {
    warnBytes: withDefault(POSITIVE_INT, 1024 ** 3),
    failBytes: withDefault(POSITIVE_INT, 2 * 1024 ** 3),
  }, compare("failBytes", "at least", "warnBytes")),
  eventLoop: check("eventLoop", "system", {
    warnMs: withDefault(POSITIVE, 100),
    failMs: withDefault(POSITIVE, 1000),
  }, compare("failMs", "at least", "warnMs")),
  workers: check("workers", "component", {}),
});

const DETECTOR = object<DriftDetectorConfig>("a mapping", {
  name: TEXT,
  warningLevel: withDefault(POSITIVE, 2),
  driftLevel: withDefault(POSITIVE, 3),
  minSamples: withDefault(POSITIVE_INT, 30),
}, compare("driftLevel", "at least", "warningLevel"));

const AUTH = union<AuthConfig, "type">("type", {
  none: object("a mapping", { type: oneOf(["none"]) }),
  bearer: object("a mapping", { type: oneOf(["bearer"]), token: TEXT }),
  basic: object("a mapping", {
    type: oneOf(["basic"]),
    // RFC 7617: the user-id of Basic credentials cannot contain a colon.
    username: scalar(
      'a non-empty string without ":"',
      (v): v is string => typeof v === "string" && /^[^:]+$/.test(v),
    ),
    password: TEXT,
  }),
});

type Section<K extends keyof VigilConfig> = VigilConfig[K];

const CONFIG = object<VigilConfig>("a mapping of sections", {
  service: object<Section<"service">>("a mapping", {
    name: TEXT,
    version: TEXT,
    environment: TEXT,
  }),
  server: object<Section<"server">>("a mapping", {
    port: PORT,
    hostname: TEXT,
    aliases: record(ALIAS, oneOf(ROUTES)),
    maxBodyBytes: POSITIVE_INT,
    requestTimeoutMs: POSITIVE_INT,
    drainDelayMs: NON_NEGATIVE_INT,
    shutdownTimeoutMs: POSITIVE_INT,
    auth: AUTH,
  }, compare("drainDelayMs", "at most", "shutdownTimeoutMs")),
  metrics: object<Section<"metrics">>("a mapping", {
    defaultLabels: record(LABEL, scalar("a string", isString)),
    buckets: array(
      scalar("a finite number", (v): v is number => Number.isFinite(v)),
      { min: 1, refine: increasing },
    ),
    cardinalityLimit: POSITIVE_INT,
    processMetrics: BOOLEAN,
    eventLoopIntervalMs: NON_NEGATIVE_INT,
    workers: optional(NON_NEGATIVE_INT),
  }),
  health: object<Section<"health">>("a mapping", {
    checks: array(CHECK, { refine: uniqueNames("check") }),
  }),
  drift: object<Section<"drift">>("a mapping", {
    detectors: array(DETECTOR, { refine: uniqueNames("detector") }),
  }),
  logging: object<Section<"logging">>("a mapping", { level: LOG_LEVEL }),
  tracing: object<Section<"tracing">>("a mapping", {
    enabled: BOOLEAN,
    endpoint: HTTP_URL,
    sampleRatio: RATIO,
  }),
  errors: object<Section<"errors">>("a mapping", {
    sentryDsn: DSN,
    sampleRate: RATIO,
  }),
});

function isString(v: unknown): v is string {
  return typeof v === "string";
}

function increasing(values: readonly number[]): Issue | undefined {
  const i = values.findIndex((v, i) => i > 0 && v <= values[i - 1]!);
  if (i < 0) return undefined;
  return {
    at: [i],
    problem: `buckets must be strictly increasing: ${values[i]} follows ${
      values[i - 1]
    }`,
  };
}

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
 * `fixtures/config/default.yaml`.
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
 * `drift.detectors`, `metrics.buckets`), maps (`server.aliases`,
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
 * missing key, a wrong type, a value out of range, a duplicate name.
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
 *   message: "vigil.yaml:2:3: logging.lvl: unknown key (expected one of: level)",
 * });
 * ```
 */
export function parseConfig(text: string, source: string): VigilConfig {
  return read(text, source, defaultConfig());
}

/**
 * Reads a YAML configuration file and parses it with
 * {@linkcode parseConfig}.
 *
 * @param path The file to read.
 * @returns The full configuration.
 * @throws {ConfigError} When the file cannot be read (the read error is the
 * `cause`) or its content is invalid.
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
  let text: string;
  try {
    text = await Deno.readTextFile(path);
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
  return parseConfig(text, path);
}

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
    logging: { level },
  })),
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
 * `VIGIL_AUTH_TOKEN` (bearer auth with that token), `VIGIL_SENTRY_DSN` and
 * `VIGIL_TRACING_ENDPOINT` (which also turns tracing on). An unset variable
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

const mask = (secret: string): string => secret === "" ? "" : "***";

/** `scheme://user:pass@host/...` becomes `scheme://***@host/...`. */
const maskUrl = (url: string): string =>
  url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, "$1***@");

/**
 * Returns a deep copy of a configuration that is safe to show, as in
 * `/system/info`: the auth token or password, the Sentry DSN and the
 * credentials in check and tracing URLs become `"***"`. Empty secrets stay
 * empty, so the copy still tells whether one is set.
 *
 * @param config The configuration.
 * @returns A plain-data copy with the secrets masked.
 *
 * @example Mask a bearer token
 * ```ts
 * import { applyEnv, defaultConfig, maskSecrets } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * const config = applyEnv(defaultConfig(), (name) => name === "VIGIL_AUTH_TOKEN" ? "s3cret" : undefined);
 * const shown = maskSecrets(config) as typeof config;
 * assert.deepEqual(shown.server.auth, { type: "bearer", token: "***" });
 * assert.equal(shown.errors.sentryDsn, "");
 * ```
 */
export function maskSecrets(config: VigilConfig): unknown {
  const { auth } = config.server;
  return structuredClone({
    ...config,
    server: {
      ...config.server,
      auth: auth.type === "bearer"
        ? { ...auth, token: mask(auth.token) }
        : auth.type === "basic"
        ? { ...auth, password: mask(auth.password) }
        : auth,
    },
    health: {
      checks: config.health.checks.map((check) =>
        check.type === "http" ? { ...check, url: maskUrl(check.url) } : check
      ),
    },
    tracing: { ...config.tracing, endpoint: maskUrl(config.tracing.endpoint) },
    errors: { ...config.errors, sentryDsn: mask(config.errors.sentryDsn) },
  });
}
