// The LLM gateway kit: requests, latency, time to first token, tokens and
// cost of one provider's models.
import type { Registry } from "../metrics/registry.ts";
import type { Kit } from "./spec.ts";
import { checkOption, clean, durationMinutes } from "./_options.ts";
import { componentName, sharedCounter, sharedHistogram } from "./_families.ts";

/** The `status` label values of `llm_requests_total`; all but `success` count as errors. */
export const LlmStatus = {
  /** The provider answered. */
  success: "success",
  /** The provider failed or refused the request. */
  error: "error",
  /** The provider refused for its rate limit (HTTP 429). */
  rate_limited: "rate_limited",
  /** The request timed out. */
  timeout: "timeout",
  /** The caller cancelled the request. */
  cancelled: "cancelled",
} as const;

/** A request's outcome. */
export type LlmStatus = typeof LlmStatus[keyof typeof LlmStatus];

const STATUSES: ReadonlySet<string> = new Set(Object.values(LlmStatus));

/** A model's prices in USD per million tokens. */
export interface LlmPrice {
  /** USD per million input (prompt) tokens. */
  readonly input: number;
  /** USD per million output (completion) tokens. */
  readonly output: number;
}

/** Options of {@linkcode llmMetrics}. */
export interface LlmMetricsOptions {
  /** The provider's name: the `provider` label of its series, e.g. `openai`. */
  readonly name: string;
  /**
   * Prices by `"<provider>/<model>"` or `"<model>"` (the first wins), in USD
   * per million tokens. A model without a price has its tokens counted but
   * no cost: its `llm_cost_usd_total` series does not exist, and the
   * dashboard's "Unpriced tokens" panel shows it.
   * @default {{}}
   */
  readonly prices?: Readonly<Record<string, LlmPrice>>;
  /**
   * Distinct `model` label values of this provider; later models are
   * counted as `other` (their cost still from their own price).
   * @default {100}
   */
  readonly maxModels?: number;
  /**
   * Buckets of `llm_request_duration_seconds`.
   * @default {[0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300]}
   */
  readonly durationBuckets?: readonly number[];
  /**
   * Buckets of `llm_time_to_first_token_seconds`.
   * @default {[0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30]}
   */
  readonly timeToFirstTokenBuckets?: readonly number[];
}

/** Tokens of a request, as providers report their usage. */
export interface LlmUsage {
  /** Input (prompt) tokens. */
  readonly inputTokens: number;
  /** Output (completion) tokens. */
  readonly outputTokens: number;
}

/** A finished request, for {@linkcode LlmMetrics.request}. */
export interface LlmRequest extends Partial<LlmUsage> {
  /** How it ended. */
  readonly status: LlmStatus;
  /** Its seconds, to the last token. */
  readonly durationSeconds: number;
  /** Seconds to its first token, for a stream. */
  readonly timeToFirstTokenSeconds?: number;
  /**
   * Whether it was streamed (`llm_streaming_requests_total`).
   * @default {timeToFirstTokenSeconds !== undefined}
   */
  readonly stream?: boolean;
}

/** Options of {@linkcode LlmMetrics.timed}. */
export interface LlmTimedOptions<T> {
  /** Reads the tokens from the call's result. @default {no tokens counted} */
  readonly usage?: (result: Awaited<T>) => LlmUsage | undefined;
  /** The status of a failed call, from its error. @default {"error"} */
  readonly status?: (error: unknown) => LlmStatus;
}

/** A stream in progress, from {@linkcode LlmMetrics.stream}. */
export interface LlmStream {
  /** Marks the first token: records the time to it, once. */
  firstToken(): void;
  /** Ends the stream and records it as a request; a second call does nothing. */
  end(status: LlmStatus, usage?: LlmUsage): void;
}

/** What {@linkcode llmMetrics} returns: one provider's helpers. */
export interface LlmMetrics {
  /** Records a finished request: status, duration, tokens, cost, stream. */
  request(model: string, request: LlmRequest): void;
  /** Counts tokens and their cost outside a request record. */
  tokens(model: string, usage: LlmUsage): void;
  /**
   * Runs `fn`, a call to the provider, and records it as a request:
   * `success` when it returns or resolves, else the status of its error;
   * tokens from `options.usage`. Its result or error passes through.
   */
  timed<T>(model: string, fn: () => T, options?: LlmTimedOptions<T>): T;
  /** Starts timing a streamed request. */
  stream(model: string): LlmStream;
}

/** Completions take seconds to minutes. */
const DURATION_BUCKETS: readonly number[] = [
  0.25,
  0.5,
  1,
  2,
  5,
  10,
  20,
  30,
  60,
  120,
  300,
];

/** First tokens come in tens of milliseconds to seconds. */
const TTFT_BUCKETS: readonly number[] = [
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2,
  5,
  10,
  30,
];

/** The model label value `maxModels` folds further models into. */
const OTHER = "other";

function checkPrices(
  prices: unknown,
): ReadonlyMap<string, LlmPrice> {
  const map = new Map<string, LlmPrice>();
  if (prices === undefined) return map;
  if (typeof prices !== "object" || prices === null || Array.isArray(prices)) {
    throw new TypeError(
      `Cannot create the llm kit: prices must be an object of { input, output } by model, got ${
        JSON.stringify(prices)
      }`,
    );
  }
  for (const [model, price] of Object.entries(prices)) {
    for (const side of ["input", "output"] as const) {
      const value = (price as Partial<LlmPrice> | null)?.[side];
      if (
        typeof value !== "number" || !Number.isFinite(value) || value < 0
      ) {
        throw new RangeError(
          `Cannot create the llm kit: prices["${model}"].${side} must be a finite number of USD per million tokens, not negative, got ${value}`,
        );
      }
    }
    map.set(model, price as LlmPrice);
  }
  return map;
}

function checkAmount(what: string, field: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot record ${what}: ${field} must be a number, got ${typeof value}`,
    );
  }
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new RangeError(
      `Cannot record ${what}: ${field} must be finite and not negative, got ${value}`,
    );
  }
  return value;
}

/**
 * Metrics of one LLM provider, registered once per registry and shared by
 * every provider: `llm_requests_total{provider,model,status}`,
 * `llm_request_duration_seconds{provider,model}`,
 * `llm_time_to_first_token_seconds{provider,model}` and
 * `llm_streaming_requests_total{provider,model}` for streams,
 * `llm_tokens_total{provider,model,type="input"|"output"}` and
 * `llm_cost_usd_total{provider,model}` from `options.prices`. The
 * generated dashboards show requests, errors, latency, time to first
 * token, tokens and cost, and the rules alert with ProviderErrorRate and
 * CostSpike.
 *
 * @param registry Where the metrics live.
 * @param options The provider's name, its price table and model cap.
 * @returns The provider's helpers; they throw a TypeError for an empty
 * model or an unknown status, and a RangeError for a negative or
 * non-finite duration or token count.
 * @throws {TypeError} When the name is empty, prices is not an object, or
 * the registry holds one of the names as another metric.
 * @throws {RangeError} When a price is negative or not finite, or
 * `maxModels` is below 1.
 *
 * @example Record a completion and its cost
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { llmMetrics } from "@vigil/observe/kits";
 * import { sampleValue } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const openai = llmMetrics(registry, {
 *   name: "openai",
 *   prices: { "openai/gpt-4o": { input: 2.5, output: 10 } },
 * });
 * const answer = await openai.timed("gpt-4o", async () => ({
 *   text: "hi",
 *   usage: { prompt_tokens: 1000, completion_tokens: 500 },
 * }), {
 *   usage: (r) => ({
 *     inputTokens: r.usage.prompt_tokens,
 *     outputTokens: r.usage.completion_tokens,
 *   }),
 * });
 * assert.equal(answer.text, "hi");
 * assert.equal(
 *   await sampleValue(registry, "llm_cost_usd_total", { provider: "openai", model: "gpt-4o" }),
 *   0.0075,
 * );
 * await registry.close();
 * ```
 *
 * @example Time a stream
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { llmMetrics } from "@vigil/observe/kits";
 * import { sampleValue } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const anthropic = llmMetrics(registry, { name: "anthropic" });
 * const stream = anthropic.stream("claude-sonnet");
 * stream.firstToken();
 * stream.end("success", { inputTokens: 20, outputTokens: 80 });
 * assert.equal(
 *   await sampleValue(registry, "llm_streaming_requests_total", { provider: "anthropic", model: "claude-sonnet" }),
 *   1,
 * );
 * await registry.close();
 * ```
 */
export function llmMetrics(
  registry: Registry,
  options: LlmMetricsOptions,
): LlmMetrics {
  const provider = componentName("llm", options?.name);
  const prices = checkPrices(options.prices);
  const maxModels = checkOption(
    "llm",
    "maxModels",
    options.maxModels ?? 100,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  const requests = sharedCounter(registry, {
    name: "llm_requests_total",
    help: "Requests to the LLM provider, by model and status",
    labelNames: ["provider", "model", "status"],
  });
  const duration = sharedHistogram(registry, {
    name: "llm_request_duration_seconds",
    help: "Time of requests to the LLM provider, to the last token",
    labelNames: ["provider", "model"],
    buckets: options.durationBuckets ?? DURATION_BUCKETS,
  });
  const ttft = sharedHistogram(registry, {
    name: "llm_time_to_first_token_seconds",
    help: "Time to the first token of streamed requests to the LLM provider",
    labelNames: ["provider", "model"],
    buckets: options.timeToFirstTokenBuckets ?? TTFT_BUCKETS,
  });
  const tokens = sharedCounter(registry, {
    name: "llm_tokens_total",
    help: "Tokens of requests to the LLM provider, by type: input or output",
    labelNames: ["provider", "model", "type"],
  });
  const cost = sharedCounter(registry, {
    name: "llm_cost_usd_total",
    help:
      "Cost of the tokens in USD, from the price table; models without a price are not counted",
    labelNames: ["provider", "model"],
  });
  const streams = sharedCounter(registry, {
    name: "llm_streaming_requests_total",
    help: "Streamed requests to the LLM provider",
    labelNames: ["provider", "model"],
  });

  const models = new Set<string>();
  const modelLabel = (model: unknown, what: string): string => {
    if (typeof model !== "string" || model.trim() === "") {
      throw new TypeError(
        `Cannot record ${what} of provider "${provider}": model must be a non-empty string, got ${
          JSON.stringify(model)
        }`,
      );
    }
    if (models.has(model)) return model;
    if (models.size < maxModels) {
      models.add(model);
      return model;
    }
    return OTHER;
  };
  const countTokens = (model: string, label: string, usage: LlmUsage) => {
    const what = `tokens of provider "${provider}"`;
    const input = checkAmount(what, "inputTokens", usage?.inputTokens);
    const output = checkAmount(what, "outputTokens", usage?.outputTokens);
    tokens.labels({ provider, model: label, type: "input" }).inc(input);
    tokens.labels({ provider, model: label, type: "output" }).inc(output);
    const price = prices.get(`${provider}/${model}`) ?? prices.get(model);
    if (price !== undefined) {
      // One division, so round figures stay exact.
      cost.labels({ provider, model: label }).inc(
        (input * price.input + output * price.output) / 1e6,
      );
    }
  };
  const request = (model: string, call: LlmRequest) => {
    const what = `a request to provider "${provider}"`;
    const label = modelLabel(model, "a request");
    if (typeof call?.status !== "string" || !STATUSES.has(call.status)) {
      throw new TypeError(
        `Cannot record ${what}: status must be one of ${
          [...STATUSES].join(", ")
        }, got ${JSON.stringify(call?.status)}`,
      );
    }
    const seconds = checkAmount(what, "durationSeconds", call.durationSeconds);
    const first = call.timeToFirstTokenSeconds === undefined
      ? undefined
      : checkAmount(
        what,
        "timeToFirstTokenSeconds",
        call.timeToFirstTokenSeconds,
      );
    const hasTokens = call.inputTokens !== undefined ||
      call.outputTokens !== undefined;
    if (hasTokens) {
      countTokens(model, label, {
        inputTokens: call.inputTokens ?? 0,
        outputTokens: call.outputTokens ?? 0,
      });
    }
    const series = { provider, model: label };
    requests.labels({ ...series, status: call.status }).inc();
    duration.labels(series).observe(seconds);
    if (first !== undefined) ttft.labels(series).observe(first);
    if (call.stream ?? first !== undefined) streams.labels(series).inc();
  };
  const since = (start: number) => (performance.now() - start) / 1000;
  return {
    request,
    tokens: (model, usage) =>
      countTokens(model, modelLabel(model, "tokens"), usage),
    timed: <T>(
      model: string,
      fn: () => T,
      timedOptions: LlmTimedOptions<T> = {},
    ): T => {
      modelLabel(model, "a request");
      const start = performance.now();
      const succeed = (result: Awaited<T>) => {
        const usage = timedOptions.usage?.(result);
        request(model, {
          status: LlmStatus.success,
          durationSeconds: since(start),
          ...usage,
        });
      };
      const fail = (error: unknown) =>
        request(model, {
          status: timedOptions.status?.(error) ?? LlmStatus.error,
          durationSeconds: since(start),
        });
      let result: T;
      try {
        result = fn();
      } catch (error) {
        fail(error);
        throw error;
      }
      if (result instanceof Promise) {
        return result.then(
          (value: Awaited<T>) => {
            succeed(value);
            return value;
          },
          (error: unknown) => {
            fail(error);
            throw error;
          },
        ) as T;
      }
      succeed(result as Awaited<T>);
      return result;
    },
    stream: (model) => {
      modelLabel(model, "a stream");
      const start = performance.now();
      let first: number | undefined;
      let ended = false;
      return {
        firstToken: () => {
          first ??= since(start);
        },
        end: (status, usage) => {
          if (ended) return;
          ended = true;
          request(model, {
            status,
            durationSeconds: since(start),
            ...(first === undefined ? {} : { timeToFirstTokenSeconds: first }),
            stream: true,
            ...usage,
          });
        },
      };
    },
  };
}

/** The error ratio recorded per job and provider. */
const ERROR_RATIO = "job_provider:llm_request_errors:ratio_rate5m";

/** Options of {@linkcode llmKit}. */
export interface LlmKitOptions {
  /** The share of requests neither `success` nor `cancelled` over 5m above which ProviderErrorRate fires, in (0, 1). @default {0.1} */
  readonly errorRatio?: number;
  /** How long the share stays high before it fires. @default {"5m"} */
  readonly errorRatioFor?: string;
  /**
   * CostSpike fires when a provider's cost rate over the last hour is above
   * this factor times its rate over the day before that hour; above 1.
   * @default {3}
   */
  readonly costSpikeFactor?: number;
  /**
   * ...and above this many USD per hour, so cents turning into more cents
   * do not page.
   * @default {1}
   */
  readonly costSpikeMinUsdPerHour?: number;
  /** How long the spike lasts before CostSpike fires. @default {"15m"} */
  readonly costSpikeFor?: string;
}

/** Minutes of CostSpike's baseline: the day before the last hour. */
const DAY = 1440;

/**
 * The LLM kit's dashboard row, recording rule and alerts, for the
 * generators. ProviderErrorRate: the share of a provider's requests that
 * did not succeed over 5m. CostSpike: a provider's cost over the last hour
 * above `costSpikeFactor` times its average over the day before, and above
 * `costSpikeMinUsdPerHour`.
 *
 * @param options The alerts' thresholds and durations.
 * @returns The kit.
 * @throws {RangeError} When a threshold is out of range, or `costSpikeFor`
 * is so long that a spike lasting it lifts its own baseline past the
 * threshold.
 * @throws {TypeError} When a duration is not a Prometheus duration.
 *
 * @example The kit's alerts
 * ```ts
 * import { llmKit } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(llmKit().alerts.map((a) => a.name), ["ProviderErrorRate", "CostSpike"]);
 * ```
 */
export function llmKit(options: LlmKitOptions = {}): Kit {
  const kit = "llm";
  const errorRatio = checkOption(
    kit,
    "errorRatio",
    options.errorRatio ?? 0.1,
    0,
    1,
    true,
  );
  const errorFor = options.errorRatioFor ?? "5m";
  durationMinutes(kit, "errorRatioFor", errorFor);
  const factor = checkOption(
    kit,
    "costSpikeFactor",
    options.costSpikeFactor ?? 3,
    1,
    1000,
    true,
  );
  const floor = checkOption(
    kit,
    "costSpikeMinUsdPerHour",
    options.costSpikeMinUsdPerHour ?? 1,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  const spikeFor = options.costSpikeFor ?? "15m";
  const spikeMinutes = durationMinutes(kit, "costSpikeFor", spikeFor);
  // The promtool case's spike runs `spikeFor` + 2 minutes into the baseline.
  const spread = spikeMinutes + 2;
  if (factor * spread >= DAY) {
    throw new RangeError(
      `Cannot create the llm kit: costSpikeFor must be shorter than 1d / costSpikeFactor, got "${spikeFor}" with a factor of ${factor}`,
    );
  }

  // Requests a minute out of 10000: the cases sit one request either side
  // of the threshold, so a threshold moved by 0.0001 fails them.
  const failingAt = (offset: number) =>
    Math.min(10000, Math.max(0, Math.round(errorRatio * 10000) + offset));
  const requestSeries = (n: number, failing: number) => {
    return [{
      name: "llm_requests_total",
      labels: 'provider="openai",model="gpt-4o",status="success"',
      values: `0+${10000 - failing}x${n}`,
    }, {
      name: "llm_requests_total",
      labels: 'provider="openai",model="gpt-4o",status="error"',
      values: `0+${failing}x${n}`,
    }];
  };
  // USD a minute: a baseline, then a spike over the last hour and `for`.
  const costSeries = (
    n: number,
    provider: string,
    base: number,
    spike: number,
  ) => {
    const start = n - 2 - spread - 60;
    return {
      name: "llm_cost_usd_total",
      labels: `provider="${provider}",model="gpt-4o"`,
      values: `0+${clean(base)}x${start} ${clean(base * start + spike)}+${
        clean(spike)
      }x${n - start - 1}`,
    };
  };
  // The baseline at the evaluation includes `spread` minutes of the spike:
  // the spike rate at which the condition turns.
  const base = (floor > 0 ? floor : 1) / 60;
  const turning = factor * base * (DAY - spread) / (DAY - factor * spread);
  const firingSpike = clean(turning * 1.1);
  const hourly = (range: string, offset = "") =>
    `sum by (job, provider) (rate(llm_cost_usd_total[${range}]${offset})) * 3600`;
  const rate = (expr: string) =>
    `sum by (provider) (rate(${expr}[$__rate_interval]))`;
  return {
    kind: kit,
    title: "LLM providers",
    marker: "llm_requests_total",
    families: [
      "llm_requests_total",
      "llm_request_duration_seconds",
      "llm_time_to_first_token_seconds",
      "llm_tokens_total",
      "llm_cost_usd_total",
      "llm_streaming_requests_total",
    ],
    panels: [{
      title: "Requests by status",
      type: "timeseries",
      unit: "reqps",
      queries: [{
        expr:
          "sum by (provider, status) (rate(llm_requests_total[$__rate_interval]))",
        legend: "{{provider}} {{status}}",
      }],
    }, {
      title: "Error ratio",
      type: "timeseries",
      unit: "percentunit",
      min: 0,
      max: 1,
      thresholds: [[errorRatio / 2, "orange"], [errorRatio, "red"]],
      queries: [{
        // Cancellations are the caller's, not the provider's; `or` shows 0 %
        // rather than no data while no request failed.
        expr: `(${rate('llm_requests_total{status!~"success|cancelled"}')} or ${
          rate("llm_requests_total")
        } * 0) / ${rate("llm_requests_total")}`,
        legend: "{{provider}}",
      }],
    }, {
      title: "Latency p95",
      type: "timeseries",
      unit: "s",
      queries: [{
        expr:
          "histogram_quantile(0.95, sum by (provider, model, le) (rate(llm_request_duration_seconds_bucket[$__rate_interval])))",
        legend: "{{provider}} {{model}}",
      }],
    }, {
      title: "Time to first token p95",
      type: "timeseries",
      unit: "s",
      queries: [{
        expr:
          "histogram_quantile(0.95, sum by (provider, model, le) (rate(llm_time_to_first_token_seconds_bucket[$__rate_interval])))",
        legend: "{{provider}} {{model}}",
      }],
    }, {
      title: "Streamed requests",
      type: "timeseries",
      unit: "reqps",
      queries: [{
        expr:
          "sum by (provider, model) (rate(llm_streaming_requests_total[$__rate_interval]))",
        legend: "{{provider}} {{model}}",
      }],
    }, {
      title: "Tokens",
      type: "timeseries",
      unit: "short",
      queries: [{
        expr:
          "sum by (provider, type) (rate(llm_tokens_total[$__rate_interval]))",
        legend: "{{provider}} {{type}}/s",
      }],
    }, {
      title: "Cost per hour",
      type: "timeseries",
      unit: "currencyUSD",
      min: 0,
      queries: [{
        expr:
          "sum by (provider, model) (rate(llm_cost_usd_total[$__rate_interval])) * 3600",
        legend: "{{provider}} {{model}}",
      }],
    }, {
      title: "Unpriced tokens",
      type: "timeseries",
      unit: "short",
      queries: [{
        expr:
          "sum by (provider, model) (rate(llm_tokens_total[$__rate_interval]) unless on (provider, model) llm_cost_usd_total)",
        legend: "{{provider}} {{model}}/s",
      }],
    }],
    recording: [{
      record: ERROR_RATIO,
      expr:
        '(sum by (job, provider) (rate(llm_requests_total{status!~"success|cancelled"}[5m])) or sum by (job, provider) (rate(llm_requests_total[5m])) * 0) / sum by (job, provider) (rate(llm_requests_total[5m]))',
    }],
    alerts: [{
      name: "ProviderErrorRate",
      expr: `${ERROR_RATIO} > ${errorRatio}`,
      for: errorFor,
      severity: "warning",
      format: "humanizePercentage",
      summary: (l) =>
        `High error rate of LLM provider ${l("provider")} on ${l("job")}`,
      description: (l, v) =>
        `${v} of the requests of ${l("job")} to LLM provider ${
          l("provider")
        } did not succeed over 5m (threshold ${clean(errorRatio * 100)}%)`,
      labels: { provider: "openai" },
      byInstance: false,
      value: failingAt(1) / 10000,
      firing: (n) => requestSeries(n, failingAt(1)),
      healthy: (n) => requestSeries(n, failingAt(-1)),
      rangeMinutes: 5,
    }, {
      name: "CostSpike",
      // Only with a full day of baseline: a new provider's first day would
      // compare its cost with a partial day's.
      expr: `(${hourly("1h")} > ${factor} * ${
        hourly("1d", " offset 1h")
      }) and ${
        hourly("1h")
      } > ${floor} and on (job, provider) sum by (job, provider) (llm_cost_usd_total offset 25h)`,
      for: spikeFor,
      severity: "warning",
      format: "humanize",
      summary: (l) =>
        `Cost spike of LLM provider ${l("provider")} on ${l("job")}`,
      description: (l, v) =>
        `${l("job")} spent ${v} USD an hour on LLM provider ${
          l("provider")
        } over the last hour, more than ${factor}x its rate over the day before (and at least ${floor} USD an hour)`,
      labels: { provider: "openai" },
      byInstance: false,
      value: clean(firingSpike * 60),
      firing: (n) => [costSeries(n, "openai", base, firingSpike)],
      healthy: (n) => [
        // Above the floor, just within the factor.
        costSeries(n, "openai", base, clean(turning * 0.9)),
        // Past the factor, below the floor.
        costSeries(
          n,
          "local",
          floor * 0.9 / 60 / (2 * factor),
          floor * 0.9 / 60,
        ),
        // A provider two hours old, spending a steady 3x the floor: no day
        // of baseline yet, so no spike.
        {
          name: "llm_cost_usd_total",
          labels: 'provider="fresh",model="gpt-4o"',
          values: `_x${n - 121} 0+${clean(floor * 3 / 60 || 0.05)}x120`,
        },
      ],
      rangeMinutes: DAY + 60,
    }],
  };
}
