// Vigil's configuration schema: every key, its type, range and default.
// Each rule comes from where the runtime enforces it (label names and
// buckets from the base validators, timers from MAX_TIMER_MS, check
// defaults from the health package), so a value the file passes is one the
// server starts with. Internal: not re-exported.
import { LOG_LEVELS, type LogLevel, parseLogLevel } from "../base/log.ts";
import { ROUTES } from "../base/routes.ts";
import {
  bucketsProblem,
  LABEL_NAME,
  labelNameProblem,
  MAX_TIMER_MS,
} from "../base/_validation.ts";
import { BUILT_IN_CHECK_DEFAULTS, CHECK_DEFAULTS } from "../health/defaults.ts";
import { checkDetectorSpec } from "../drift/detectors.ts";
import { checkModelOptions } from "../metrics/model.ts";
import {
  type ClassLabel,
  DETECTOR_INPUTS,
  DETECTOR_KINDS,
  type DetectorSpec,
} from "../drift/model_types.ts";
import {
  array,
  compare,
  type Fields,
  integer,
  integerUpTo,
  type Issue,
  object,
  oneOf,
  openObject,
  optional,
  record,
  scalar,
  type Schema,
  union,
  uniqueNames,
  withDefault,
} from "./_schema.ts";
import {
  ALERT_DEFAULTS,
  type AlertThresholds,
  checkAlertThresholds,
} from "../alerts/rules.ts";
import { type Slo, SloKind } from "../alerts/slo.ts";
import {
  type MappingRule,
  MatchType,
  StatsdMapper,
} from "../ingest/mapping.ts";
import {
  KIT_ALERT_OPTIONS,
  KIT_KINDS,
  type KitDeclaration,
  kitSpec,
  type TokenPrice,
} from "../kits/mod.ts";
import type {
  AuthConfig,
  CheckConfig,
  CheckConfigBase,
  DriftModelConfig,
  VigilConfig,
} from "./types.ts";

/**
 * The most aggregation workers: each holds a ring of 4 to 16 MiB, and more
 * threads than cores only contend.
 */
const MAX_WORKERS = 64;

function isHttpUrl(v: unknown): v is string {
  const url = typeof v === "string" ? URL.parse(v) : null;
  return (url?.protocol === "http:" || url?.protocol === "https:") &&
    url.hostname !== "";
}

/** A TCP port; 0 lets the system pick one. */
export const PORT: Schema<number> = integer(0, 65535);
const POSITIVE_INT = integer(1);
/** A delay or interval handed to `setTimeout`/`setInterval`. */
const TIMER_MS = integerUpTo(1, MAX_TIMER_MS);
/** Like {@linkcode TIMER_MS}, where 0 means "none" or "off". */
const TIMER_MS_OR_ZERO = integerUpTo(0, MAX_TIMER_MS);
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
/** A string with something besides spaces. */
export const TEXT: Schema<string> = scalar(
  "a non-empty string",
  (v): v is string => typeof v === "string" && v.trim() !== "",
);
/** A check name: it keys `name:measurement` in the IETF health format. */
const CHECK_NAME = scalar(
  'a non-empty name without ":"',
  (v): v is string =>
    typeof v === "string" && v.trim() !== "" && !v.includes(":"),
);
/** An absolute http or https URL with a host. */
export const HTTP_URL: Schema<string> = scalar("an http(s) URL", isHttpUrl);
/** A Sentry DSN, or "" for none. */
export const DSN: Schema<string> = scalar(
  'an http(s) URL or ""',
  (v): v is string => v === "" || isHttpUrl(v),
);
const LEVEL_NAME = oneOf([...LOG_LEVELS, "warn"]);

/** A level of {@linkcode LOG_LEVELS}, or `warn` for `warning`. */
export const LOG_LEVEL: Schema<LogLevel> = {
  expected: LEVEL_NAME.expected,
  read: (node, path, reader) =>
    parseLogLevel(LEVEL_NAME.read(node, path, reader))!,
};

const LABEL = scalar(
  `a label name matching ${LABEL_NAME.source}`,
  (v): v is string => typeof v === "string" && LABEL_NAME.test(v),
  labelNameProblem,
);
/** A dotted log category such as `vigil.http` or `app`. */
const CATEGORY: Schema<string> = scalar(
  "a dotted category such as vigil.http",
  (v): v is string => typeof v === "string" && /^[^.\s]+(\.[^.\s]+)*$/.test(v),
);

const ALIAS = scalar(
  'a path starting with "/"',
  (v): v is string => typeof v === "string" && /^\/[^\s?#]*$/.test(v),
  (v) =>
    (ROUTES as readonly string[]).includes(v)
      ? `alias "${v}" would hide the route of that name`
      : undefined,
);

/** The registry's bucket rule, at the bound it names. */
function buckets(values: readonly number[]): Issue | undefined {
  const found = bucketsProblem(values);
  if (found === undefined) return undefined;
  return {
    at: found.index === undefined ? [] : [found.index],
    problem: found.problem,
  };
}

type Check<T extends CheckConfig["type"]> = Extract<CheckConfig, { type: T }>;

/** A check entry of `type`: its own keys, then those every check has. */
function check<T extends CheckConfig["type"]>(
  type: T,
  fields: Omit<Fields<Check<T>>, keyof CheckConfigBase | "type">,
  refine?: (value: Check<T>) => Issue | undefined,
): Schema<Check<T>> {
  const all = {
    name: CHECK_NAME,
    type: oneOf([type]),
    ...fields,
    critical: withDefault(BOOLEAN, CHECK_DEFAULTS.critical),
    timeoutMs: withDefault(TIMER_MS, CHECK_DEFAULTS.timeoutMs),
    intervalMs: withDefault(TIMER_MS, CHECK_DEFAULTS.intervalMs),
    componentType: withDefault(
      TEXT,
      BUILT_IN_CHECK_DEFAULTS[type].componentType,
    ),
  } as unknown as Fields<Check<T>>;
  return object("a mapping", all, refine);
}

const { http, disk, memory, eventLoop } = BUILT_IN_CHECK_DEFAULTS;

const CHECK = union<CheckConfig, "type">("type", {
  http: check("http", {
    url: HTTP_URL,
    expectStatus: withDefault(array(integer(100, 599)), http.expectStatus),
  }),
  tcp: check("tcp", { host: TEXT, port: integer(1, 65535) }),
  disk: check("disk", {
    path: TEXT,
    warnFreeRatio: withDefault(RATIO, disk.warnFreeRatio),
    failFreeRatio: withDefault(RATIO, disk.failFreeRatio),
  }, compare("failFreeRatio", "at most", "warnFreeRatio")),
  memory: check("memory", {
    warnBytes: withDefault(POSITIVE_INT, memory.warnBytes),
    failBytes: withDefault(POSITIVE_INT, memory.failBytes),
  }, compare("failBytes", "at least", "warnBytes")),
  eventLoop: check("eventLoop", {
    warnMs: withDefault(POSITIVE, eventLoop.warnMs),
    failMs: withDefault(POSITIVE, eventLoop.failMs),
  }, compare("failMs", "at least", "warnMs")),
  workers: check("workers", {}),
});

/** A class label; `1` and `"1"` are one class. */
const CLASS_LABEL = scalar(
  "a non-empty string or a finite number",
  (v): v is ClassLabel =>
    (typeof v === "string" && v !== "") || Number.isFinite(v),
);

/**
 * A detector: its kind and input, then the options of its kind as they
 * are written; `checkDetectorSpec()` judges them with the model's.
 */
const DETECTOR = openObject<DetectorSpec>(
  "a mapping",
  { kind: oneOf(DETECTOR_KINDS), input: optional(oneOf(DETECTOR_INPUTS)) },
  scalar(
    "a number, a string, true or false",
    (v): v is unknown =>
      typeof v === "number" || typeof v === "string" || typeof v === "boolean",
  ),
);

/**
 * The first problem of a model's detectors, by the rule the registry
 * applies (`checkDetectorSpec()`), placed at the key at fault: the input
 * alone first, then each option alone, then all of them together.
 */
function detectorsIssue(model: DriftModelConfig): Issue | undefined {
  const regression = model.regression ??
    model.detectors.some((spec) => spec.input === "residual");
  for (const [i, spec] of model.detectors.entries()) {
    const { kind, input, ...options } = spec;
    const bare: DetectorSpec = input === undefined ? { kind } : { kind, input };
    const trials: [readonly string[], DetectorSpec][] = [
      [input === undefined ? [] : ["input"], bare],
      ...Object.entries(options).map((
        [name, value],
      ): [readonly string[], DetectorSpec] => [[name], {
        ...bare,
        [name]: value,
      }]),
      [[], spec],
    ];
    for (const [at, trial] of trials) {
      try {
        checkDetectorSpec(trial, "a detector", regression);
      } catch (error) {
        if (!(error instanceof TypeError || error instanceof RangeError)) {
          throw error;
        }
        return {
          at: ["detectors", i, ...at],
          problem: detectorProblem(error.message, at[0]),
        };
      }
    }
  }
  return undefined;
}

/**
 * A detector's error as a config problem: without the "Cannot declare
 * ...: Cannot create DDM: " the place already says, and "warmStart must
 * be" as "expected" when the key is the option.
 */
function detectorProblem(message: string, key: string | undefined): string {
  const problem = message.replace(
    /^(?:Cannot (?:declare|create) [^:]*: )+/,
    "",
  );
  const named = key === undefined ? undefined : `${key} must be `;
  return named !== undefined && problem.startsWith(named)
    ? `expected ${problem.slice(named.length)}`
    : problem;
}

/**
 * The problem `registry.model()` would find, by its own check
 * (`checkModelOptions()`), at the field its message names: `window must be
 * an integer from 1 to 1000000, got 0` is placed at `window`.
 */
function modelIssue(model: DriftModelConfig): Issue | undefined {
  try {
    checkModelOptions(model);
    return undefined;
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) {
      throw error;
    }
    const prefix = `Cannot create model ${JSON.stringify(model.name)}: `;
    const detail = error.message.startsWith(prefix)
      ? error.message.slice(prefix.length)
      : error.message;
    const field = /^([A-Za-z]+)((?:\[\d+\])*) (.+)$/s.exec(detail);
    if (field === null) return { at: [], problem: detail };
    const [, key, indexes, reason] = field;
    const at = [
      key!,
      ...[...indexes!.matchAll(/\d+/g)].map(([i]) => Number(i)),
    ];
    return {
      at,
      problem: reason!.startsWith("must be ")
        ? `expected ${reason!.slice("must be ".length)}`
        : reason!,
    };
  }
}

const MODEL = object<DriftModelConfig>("a mapping", {
  name: TEXT,
  classes: optional(array(CLASS_LABEL)),
  window: optional(POSITIVE_INT),
  positiveClass: optional(CLASS_LABEL),
  maxClasses: optional(POSITIVE_INT),
  regression: optional(BOOLEAN),
  detectors: withDefault(array(DETECTOR), []),
}, (model) => detectorsIssue(model) ?? modelIssue(model));

/**
 * The drift API's write token, or "" for none: no spaces or control
 * characters, which an `Authorization` header could not carry whole.
 */
export const WRITE_TOKEN: Schema<string> = scalar(
  'a token without spaces, or "" for none',
  (v): v is string =>
    typeof v === "string" && /^[\x21-\x7e\x80-\uffff]*$/.test(v),
);
/**
 * {@linkcode WRITE_TOKEN} from `VIGIL_WRITE_TOKEN`: set, it must be a token,
 * so an empty variable cannot turn the file's token off unnoticed.
 */
export const WRITE_TOKEN_SET: Schema<string> = scalar(
  "a non-empty token without spaces",
  (v): v is string =>
    typeof v === "string" && /^[\x21-\x7e\x80-\uffff]+$/.test(v),
);

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

/**
 * A field of the `alerts` section, judged by the rule the generator applies
 * (`checkAlertThresholds()`), so a file that passes generates.
 */
function alertField<K extends keyof AlertThresholds>(
  key: K,
  expected: string,
): Schema<Required<AlertThresholds>[K]> {
  return scalar(expected, (v): v is Required<AlertThresholds>[K] => {
    try {
      checkAlertThresholds({ [key]: v });
      return true;
    } catch (error) {
      if (error instanceof TypeError || error instanceof RangeError) {
        return false;
      }
      throw error;
    }
  });
}

const ALERT_EXPECTED: Record<keyof AlertThresholds, string> = {
  errorRatio: "a number above 0 and at most 0.99",
  accuracy: "a number above 0 and at most 1",
  f1Score: "a number above 0 and at most 1",
  latencyP95Seconds: "a positive number",
  latencyP99Seconds: "a positive number",
  driftWarnings: "a positive number",
  trainingMaxAgeSeconds: "a positive number",
  memoryBytes: "a positive number",
  eventLoopLagSeconds: "a positive number",
  errorFor: "a Prometheus duration such as 5m",
  latencyFor: "a Prometheus duration such as 5m",
  serviceDownFor: "a Prometheus duration such as 1m",
  componentFor: "a Prometheus duration such as 2m",
  driftWarningFor: "a Prometheus duration such as 5m",
  accuracyFor: "a Prometheus duration such as 10m",
  f1ScoreFor: "a Prometheus duration such as 10m",
  trainingFor: "a Prometheus duration such as 10m",
  memoryFor: "a Prometheus duration such as 5m",
  eventLoopLagFor: "a Prometheus duration such as 5m",
  runbookBase: "an http(s) URL",
};

const ALERTS = object<Required<AlertThresholds>>(
  "a mapping",
  Object.fromEntries(
    (Object.keys(ALERT_DEFAULTS) as (keyof AlertThresholds)[]).map((key) => [
      key,
      alertField(key, ALERT_EXPECTED[key]),
    ]),
  ) as unknown as Fields<Required<AlertThresholds>>,
);

/** An SLO window: a Prometheus duration longer than zero. */
const WINDOW = scalar(
  "a positive Prometheus duration such as 30d",
  (v): v is string =>
    typeof v === "string" && /^(\d+(ms|s|m|h|d|w|y))+$/.test(v) &&
    /[1-9]/.test(v),
);

const SLO = object<Slo>("a mapping", {
  name: scalar(
    'a name of letters, digits, "_", "." or "-"',
    (v): v is string => typeof v === "string" && /^[A-Za-z0-9_.-]+$/.test(v),
  ),
  kind: oneOf(Object.values(SloKind)),
  objective: scalar(
    "a percentage above 0 and below 100",
    (v): v is number =>
      Number.isFinite(v) && (v as number) > 0 && (v as number) < 100,
  ),
  threshold: optional(POSITIVE),
  window: withDefault(WINDOW, "30d"),
}, (slo) => {
  if (slo.kind === SloKind.availability && slo.threshold !== undefined) {
    return {
      at: ["threshold"],
      problem: "a threshold applies to latency objectives only",
    };
  }
  if (slo.kind === SloKind.latency && slo.threshold === undefined) {
    return {
      at: [],
      problem: "a latency objective needs threshold, in seconds",
    };
  }
  return undefined;
});

/** A latency objective's threshold must be one of the latency buckets. */
function sloBuckets(config: VigilConfig): Issue | undefined {
  for (const [i, slo] of config.slos.entries()) {
    if (
      slo.threshold !== undefined &&
      !config.metrics.buckets.includes(slo.threshold)
    ) {
      return {
        at: ["slos", i, "threshold"],
        problem: `expected one of metrics.buckets (${
          config.metrics.buckets.join(", ")
        }), got ${slo.threshold}`,
      };
    }
  }
  return undefined;
}

/**
 * The first problem of StatsD mapping rules, by the rule the mapper
 * applies when it compiles them, at the key its message names.
 */
function mappingsIssue(rules: readonly MappingRule[]): Issue | undefined {
  try {
    new StatsdMapper({ mappings: rules });
    return undefined;
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) {
      throw error;
    }
    const detail = error.message.replace(
      /^Cannot compile StatsD mappings: /,
      "",
    );
    const found = /^mappings\[(\d+)\]((?:\.\w+)*)(?::| )\s*(.*)$/s.exec(detail);
    if (found === null) return { at: [], problem: detail };
    const [, index, keys, reason] = found;
    return {
      at: [Number(index), ...keys!.split(".").filter((k) => k !== "")],
      problem: reason!,
    };
  }
}

const MAPPING = object<MappingRule>("a mapping", {
  match: TEXT,
  name: TEXT,
  labels: optional(record(LABEL, scalar("a string", isString))),
  type: optional(oneOf(Object.values(MatchType))),
  action: optional(oneOf(["map", "drop"])),
  observer: optional(oneOf(["histogram", "summary"])),
});

const PRICE = object<TokenPrice>("a mapping", {
  input: scalar(
    "a non-negative number of USD per million tokens",
    (v): v is number => Number.isFinite(v) && (v as number) >= 0,
  ),
  output: scalar(
    "a non-negative number of USD per million tokens",
    (v): v is number => Number.isFinite(v) && (v as number) >= 0,
  ),
});

const KIT = object<KitDeclaration>("a mapping", {
  kind: oneOf(KIT_KINDS),
  name: TEXT,
  prices: optional(record(TEXT, PRICE)),
  alerts: optional(
    record(
      TEXT,
      scalar(
        "a number or a string",
        (v): v is number | string =>
          typeof v === "number" || typeof v === "string",
      ),
    ),
  ),
}, (kit) => {
  if (kit.prices !== undefined && kit.kind !== "llm") {
    return { at: ["prices"], problem: "prices apply to llm kits only" };
  }
  return kitAlertsIssue(kit);
});

/** The first problem the kit's spec finds in its alert options, at its key. */
function kitAlertsIssue(kit: KitDeclaration): Issue | undefined {
  const known = KIT_ALERT_OPTIONS[kit.kind];
  for (const key of Object.keys(kit.alerts ?? {})) {
    if (!known.includes(key)) {
      return {
        at: ["alerts", key],
        problem: `unknown key (expected one of: ${known.join(", ") || "none"})`,
      };
    }
  }
  try {
    kitSpec(kit.kind, kit.alerts);
    return undefined;
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) {
      throw error;
    }
    const detail = error.message.replace(/^Cannot create the \w+ kit: /, "");
    const field = /^(\w+) (.*)$/s.exec(detail);
    return field !== null && kit.alerts?.[field[1]!] !== undefined
      ? { at: ["alerts", field[1]!], problem: field[2]! }
      : { at: ["alerts"], problem: detail };
  }
}

/**
 * The second kit of one kind and name (both would count into one series),
 * or of one kind with other alert options (the rules are per kind).
 */
function uniqueKits(kits: readonly KitDeclaration[]): Issue | undefined {
  const options = new Map<string, number>();
  for (const [i, { kind, alerts }] of kits.entries()) {
    const j = options.get(kind);
    if (
      j !== undefined &&
      JSON.stringify(kits[j]!.alerts ?? {}) !== JSON.stringify(alerts ?? {})
    ) {
      return {
        at: [i, "alerts"],
        problem:
          `the ${kind} kits' alert options must agree (kits[${j}] has others): the rules are per kind`,
      };
    }
    options.set(kind, i);
  }
  const seen = new Map<string, number>();
  for (const [i, { kind, name }] of kits.entries()) {
    const j = seen.get(`${kind}\u0000${name}`);
    if (j !== undefined) {
      return {
        at: [i, "name"],
        problem: `duplicate ${kind} kit "${name}" (also kits[${j}])`,
      };
    }
    seen.set(`${kind}\u0000${name}`, i);
  }
  return undefined;
}

type Section<K extends keyof VigilConfig> = VigilConfig[K];

/** The whole file: every section, every key. */
export const CONFIG: Schema<VigilConfig> = object<VigilConfig>(
  "a mapping of sections",
  {
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
      requestTimeoutMs: TIMER_MS,
      drainDelayMs: TIMER_MS_OR_ZERO,
      shutdownTimeoutMs: TIMER_MS,
      auth: AUTH,
    }, compare("drainDelayMs", "at most", "shutdownTimeoutMs")),
    metrics: object<Section<"metrics">>("a mapping", {
      defaultLabels: record(LABEL, scalar("a string", isString)),
      buckets: array(
        scalar("a finite number", (v): v is number => Number.isFinite(v)),
        { min: 1, refine: buckets },
      ),
      cardinalityLimit: POSITIVE_INT,
      processMetrics: BOOLEAN,
      eventLoopIntervalMs: TIMER_MS_OR_ZERO,
      workers: optional(integerUpTo(0, MAX_WORKERS)),
    }),
    health: object<Section<"health">>("a mapping", {
      checks: array(CHECK, { refine: uniqueNames("check") }),
    }),
    drift: object<Section<"drift">>("a mapping", {
      models: array(MODEL, { refine: uniqueNames("model") }),
      writeToken: WRITE_TOKEN,
    }),
    logging: object<Section<"logging">>("a mapping", {
      level: LOG_LEVEL,
      format: oneOf(["json", "pretty"]),
      levels: record(CATEGORY, LOG_LEVEL),
      file: object<Section<"logging">["file"]>("a mapping", {
        directory: scalar("a string", isString),
        retentionDays: POSITIVE_INT,
      }),
      maxFieldLength: POSITIVE_INT,
      queueSize: POSITIVE_INT,
      accessLog: object<Section<"logging">["accessLog"]>("a mapping", {
        enabled: BOOLEAN,
        successSampleRate: RATIO,
      }),
    }),
    tracing: object<Section<"tracing">>("a mapping", {
      enabled: BOOLEAN,
      endpoint: HTTP_URL,
      sampleRatio: RATIO,
    }),
    errors: object<Section<"errors">>("a mapping", {
      sentryDsn: DSN,
      sampleRate: RATIO,
    }),
    ingest: object<Section<"ingest">>("a mapping", {
      statsd: object<Section<"ingest">["statsd"]>("a mapping", {
        enabled: BOOLEAN,
        port: integer(1, 65535),
        tcp: BOOLEAN,
        observer: oneOf(["histogram", "summary"]),
        setWindowSeconds: POSITIVE_INT,
        maxPacketBytes: integer(1, 65535),
        maxMetrics: POSITIVE_INT,
        mappings: array(MAPPING, { refine: mappingsIssue }),
      }),
      push: object<Section<"ingest">["push"]>("a mapping", {
        enabled: BOOLEAN,
        ttlSeconds: optional(POSITIVE),
        maxGroups: POSITIVE_INT,
        maxSeries: POSITIVE_INT,
      }),
    }),
    kits: array(KIT, { refine: uniqueKits }),
    alerts: ALERTS,
    slos: array(SLO, { refine: uniqueNames("SLO") }),
  },
  sloBuckets,
);

function isString(v: unknown): v is string {
  return typeof v === "string";
}
