/**
 * Domain kits: the metrics, helpers, dashboard rows and alert rules every
 * service writes by hand, one line of setup each. A kit's series carry its
 * component's name (`cache`, `pool`, `provider`, `dataset`, `queue`,
 * `source` or `component` label); a second kit of the same kind shares the
 * families of the first. `generateDashboards()` and `generateAlertRules()`
 * add each kit's row and alerts when its metrics are registered.
 *
 * @example A cache
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { cacheMetrics } from "@vigil/observe/kits";
 *
 * const registry = new Registry();
 * const sessions = cacheMetrics(registry, { name: "sessions" });
 * sessions.miss();
 * await registry.close();
 * ```
 *
 * @module
 */
import { cacheKit, cacheMetrics } from "./cache.ts";
import { circuitBreakerKit, circuitBreakerMetrics } from "./circuit_breaker.ts";
import { databaseKit, databaseMetrics } from "./database.ts";
import { jobMetrics, jobsKit } from "./jobs.ts";
import { llmKit, llmMetrics } from "./llm.ts";
import { dataQualityKit, dataQualityMetrics } from "./data_quality.ts";
import { streamKit, streamMetrics } from "./stream.ts";
import { onlineLearningKit, onlineLearningMetrics } from "./online_learning.ts";
import type { Kit } from "./spec.ts";
import type { Registry } from "../metrics/registry.ts";

export {
  cacheKit,
  type CacheKitOptions,
  type CacheMetrics,
  cacheMetrics,
  type CacheMetricsOptions,
} from "./cache.ts";
export {
  CircuitBreaker,
  circuitBreakerKit,
  type CircuitBreakerKitOptions,
  type CircuitBreakerMetrics,
  circuitBreakerMetrics,
  type CircuitBreakerMetricsOptions,
  type CircuitBreakerOptions,
  CircuitOpenError,
  CircuitState,
  fromOpossum,
  type OpossumEvent,
  type OpossumLike,
} from "./circuit_breaker.ts";
export {
  databaseKit,
  type DatabaseKitOptions,
  type DatabaseMetrics,
  databaseMetrics,
  type DatabaseMetricsOptions,
} from "./database.ts";
export {
  type JobMetrics,
  jobMetrics,
  type JobMetricsOptions,
  type JobRun,
  jobsKit,
  type JobsKitOptions,
  JobStatus,
} from "./jobs.ts";
export {
  llmKit,
  type LlmKitOptions,
  type LlmMetrics,
  llmMetrics,
  type LlmMetricsOptions,
  type LlmPrice,
  type LlmRequest,
  LlmStatus,
  type LlmStream,
  type LlmTimedOptions,
  type LlmUsage,
} from "./llm.ts";
export {
  dataQualityKit,
  type DataQualityKitOptions,
  type DataQualityMetrics,
  dataQualityMetrics,
  type DataQualityMetricsOptions,
} from "./data_quality.ts";
export {
  streamKit,
  type StreamKitOptions,
  type StreamMetrics,
  streamMetrics,
  type StreamMetricsOptions,
} from "./stream.ts";
export {
  onlineLearningKit,
  type OnlineLearningMetrics,
  onlineLearningMetrics,
  type OnlineLearningMetricsOptions,
} from "./online_learning.ts";
export type {
  Kit,
  KitAlert,
  KitFormat,
  KitPanel,
  KitQuery,
  KitRecording,
  KitSeries,
} from "./spec.ts";

/**
 * The kits of a configuration: each kind with the alert options its
 * declarations give, or its defaults.
 *
 * @param declared The config's `kits` entries.
 * @returns One kit of each kind, in the order of {@linkcode KIT_KINDS}.
 *
 * @example Thresholds from the config
 * ```ts
 * import { declaredKits } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * const kits = declaredKits([{ kind: "cache", name: "redis", alerts: { hitRatio: 0.8 } }]);
 * assert.match(kits[0]!.alerts[0]!.expr, /< 0.8/);
 * ```
 */
export function declaredKits(declared: readonly KitDeclaration[]): Kit[] {
  return KIT_KINDS.map((kind) =>
    kitSpec(kind, declared.find((kit) => kit.kind === kind)?.alerts)
  );
}

/**
 * Every kit with its default thresholds, in the order the generators show
 * them.
 *
 * @returns The kits.
 *
 * @example The kinds
 * ```ts
 * import { kits } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * assert.ok(kits().some((kit) => kit.kind === "cache"));
 * ```
 */
export function kits(): Kit[] {
  return KIT_KINDS.map((kind) => kitSpec(kind));
}

/** The kinds of kit, as the config's `kits` entries name them. */
export const KIT_KINDS = [
  "cache",
  "circuit_breaker",
  "database",
  "llm",
  "data_quality",
  "jobs",
  "stream",
  "online_learning",
] as const;

/** A kind of kit. */
export type KitKind = typeof KIT_KINDS[number];

/** Prices of a model in USD per million tokens. */
export interface TokenPrice {
  /** Per million input (prompt) tokens. */
  readonly input: number;
  /** Per million output (completion) tokens. */
  readonly output: number;
}

/** The alert options each kind's spec takes, as config may set them. */
export const KIT_ALERT_OPTIONS: Readonly<Record<KitKind, readonly string[]>> = {
  cache: ["hitRatio", "hitRatioFor"],
  circuit_breaker: ["openFor", "openSeverity"],
  database: ["poolUsage", "poolUsageFor", "queryP95Seconds", "queryP95For"],
  llm: [
    "errorRatio",
    "errorRatioFor",
    "costSpikeFactor",
    "costSpikeMinUsdPerHour",
    "costSpikeFor",
  ],
  data_quality: ["score", "scoreFor"],
  jobs: ["failureRatio", "failureRatioFor"],
  stream: [
    "staleSeconds",
    "staleFor",
    "reconnects",
    "reconnectsWindow",
    "reconnectsFor",
  ],
  online_learning: [],
};

/**
 * The spec of a kind of kit with alert options, as the generators take it.
 *
 * @param kind The kit's kind.
 * @param options Its alert options (see {@linkcode KIT_ALERT_OPTIONS}).
 * @returns The kit.
 * @throws {TypeError} When an option is unknown or has the wrong type.
 * @throws {RangeError} When an option is out of range.
 *
 * @example A stream that goes stale after two minutes
 * ```ts
 * import { kitSpec } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * const kit = kitSpec("stream", { staleSeconds: 120 });
 * assert.match(kit.alerts[0]!.expr, /> 120/);
 * ```
 */
export function kitSpec(
  kind: KitKind,
  options: Readonly<Record<string, unknown>> = {},
): Kit {
  for (const key of Object.keys(options)) {
    if (!KIT_ALERT_OPTIONS[kind]?.includes(key)) {
      throw new TypeError(
        `Cannot create the ${kind} kit: ${key} is no option of its alerts (expected one of: ${
          KIT_ALERT_OPTIONS[kind]?.join(", ") || "none"
        })`,
      );
    }
  }
  const o = options as never;
  switch (kind) {
    case "cache":
      return cacheKit(o);
    case "circuit_breaker":
      return circuitBreakerKit(o);
    case "database":
      return databaseKit(o);
    case "llm":
      return llmKit(o);
    case "data_quality":
      return dataQualityKit(o);
    case "jobs":
      return jobsKit(o);
    case "stream":
      return streamKit(o);
    case "online_learning":
      return onlineLearningKit();
  }
}

/** A kit declared in the config: its kind and its component's name. */
export interface KitDeclaration {
  /** Which kit. */
  readonly kind: KitKind;
  /** The component its series carry (its `cache`, `pool`, `provider`... label). */
  readonly name: string;
  /** For `llm`: prices by `provider/model` or `model`, per million tokens. */
  readonly prices?: Readonly<Record<string, TokenPrice>>;
  /**
   * Options of the kind's alerts (thresholds and `for` durations, see
   * {@linkcode KIT_ALERT_OPTIONS}); every declaration of a kind must agree.
   */
  readonly alerts?: Readonly<Record<string, number | string>>;
}

/**
 * A sidecar's token lines (StatsD or pushes) reach `llm_tokens_total`
 * without the kit's helpers, which add the cost: the cost of each priced
 * model is brought up to its tokens' worth at each scrape instead.
 */
function costFromTokens(
  registry: Registry,
  provider: string,
  prices: Readonly<Record<string, TokenPrice>>,
): void {
  // `provider/model` for this provider, else the key is the model label
  // (a gateway's `openai/gpt-4o`), as the kit's own lookup reads them.
  const models = Object.keys(prices).map((key) =>
    key.startsWith(`${provider}/`) ? key.slice(provider.length + 1) : key
  );
  registry.counter({
    name: "llm_cost_usd_total",
    help:
      "Cost of the tokens in USD, from the price table; models without a price are not counted",
    labelNames: ["provider", "model"],
    collect: (cost) => {
      const tokens = registry.getMetric("llm_tokens_total");
      if (tokens === undefined) return;
      for (const model of new Set(models)) {
        const price = prices[`${provider}/${model}`] ?? prices[model]!;
        const count = (type: string) =>
          (tokens.labels({ provider, model, type }) as { value: number }).value;
        const worth = (count("input") * price.input +
          count("output") * price.output) / 1e6;
        const series = cost.labels({ provider, model });
        if (worth > series.value) series.inc(worth - series.value);
      }
    },
  });
}

/**
 * Registers a declared kit's metrics for its component, as its
 * `xxxMetrics()` function does: a sidecar's StatsD lines of the same names
 * and labels then land in them (an `llm` kit's prices turn their token
 * counts into `llm_cost_usd_total` at each scrape), and the generators show
 * the kit's row and alerts. Pushes of those names are refused, as any
 * push of a name the registry holds.
 *
 * @param registry Where the metrics live.
 * @param kit The declaration.
 * @throws {TypeError} When the kind is unknown or the name empty.
 *
 * @example Declare a cache
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { declareKit } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * declareKit(registry, { kind: "cache", name: "redis" });
 * assert.match(await registry.metrics(), /^cache_hits_total\{cache="redis"\} 0$/m);
 * await registry.close();
 * ```
 */
export function declareKit(registry: Registry, kit: KitDeclaration): void {
  switch (kit.kind) {
    case "cache":
      cacheMetrics(registry, { name: kit.name });
      return;
    case "circuit_breaker":
      circuitBreakerMetrics(registry, { name: kit.name });
      return;
    case "database":
      databaseMetrics(registry, { name: kit.name });
      return;
    case "jobs":
      jobMetrics(registry, { name: kit.name });
      return;
    case "llm":
      if (kit.prices !== undefined) {
        costFromTokens(registry, kit.name, kit.prices);
      }
      llmMetrics(registry, {
        name: kit.name,
        ...(kit.prices === undefined ? {} : { prices: kit.prices }),
      });
      return;
    case "data_quality":
      dataQualityMetrics(registry, { name: kit.name });
      return;
    case "stream":
      streamMetrics(registry, { name: kit.name });
      return;
    case "online_learning":
      onlineLearningMetrics(registry, { name: kit.name });
      return;
    default:
      throw new TypeError(
        `Cannot declare a kit: kind must be one of ${
          KIT_KINDS.join(", ")
        }, got ${JSON.stringify(kit.kind)}`,
      );
  }
}
