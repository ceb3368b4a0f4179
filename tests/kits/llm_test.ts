import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import { llmKit, llmMetrics, LlmStatus } from "../../src/kits/llm.ts";
import { declareKit } from "../../src/kits/mod.ts";
import { assertMetrics, sampleValue } from "../../src/testing.ts";
import { ignoreWithoutPromtool } from "../_tools.ts";
import { assertKitRowParses, assertKitRules } from "./_kit_promtool.ts";

const setup = (registry: Registry) =>
  void llmMetrics(registry, { name: "openai" });

const PRICES = {
  "openai/gpt-4o": { input: 2.5, output: 10 },
  "gpt-4o": { input: 100, output: 100 },
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
} as const;

Deno.test("llmMetrics() records requests, latency, tokens and cost per provider and model, two providers sharing the families", async () => {
  const registry = new Registry();
  try {
    const openai = llmMetrics(registry, { name: "openai", prices: PRICES });
    const azure = llmMetrics(registry, { name: "azure", prices: PRICES });
    openai.request("gpt-4o", {
      status: "success",
      durationSeconds: 1.5,
      inputTokens: 1000,
      outputTokens: 500,
    });
    openai.request("gpt-4o", { status: "rate_limited", durationSeconds: 0.1 });
    // "azure/gpt-4o" is not in the table: "gpt-4o" prices it.
    azure.request("gpt-4o", {
      status: "success",
      durationSeconds: 3,
      inputTokens: 10,
      outputTokens: 20,
      timeToFirstTokenSeconds: 0.4,
    });
    openai.tokens("gpt-4o-mini", { inputTokens: 2_000_000, outputTokens: 0 });
    await assertMetrics(
      registry,
      `
      # TYPE llm_requests_total counter
      llm_requests_total{provider="openai",model="gpt-4o",status="success"} 1
      llm_requests_total{provider="openai",model="gpt-4o",status="rate_limited"} 1
      llm_requests_total{provider="azure",model="gpt-4o",status="success"} 1
      # TYPE llm_tokens_total counter
      llm_tokens_total{provider="openai",model="gpt-4o",type="input"} 1000
      llm_tokens_total{provider="openai",model="gpt-4o",type="output"} 500
      llm_tokens_total{provider="openai",model="gpt-4o-mini",type="input"} 2000000
      llm_tokens_total{provider="openai",model="gpt-4o-mini",type="output"} 0
      llm_tokens_total{provider="azure",model="gpt-4o",type="input"} 10
      llm_tokens_total{provider="azure",model="gpt-4o",type="output"} 20
      # TYPE llm_cost_usd_total counter
      llm_cost_usd_total{provider="openai",model="gpt-4o"} 0.0075
      llm_cost_usd_total{provider="openai",model="gpt-4o-mini"} 0.3
      llm_cost_usd_total{provider="azure",model="gpt-4o"} 0.003
      # TYPE llm_streaming_requests_total counter
      llm_streaming_requests_total{provider="azure",model="gpt-4o"} 1
      `,
    );
    const count = (name: string, provider: string) =>
      sampleValue(registry, name, { provider, model: "gpt-4o" });
    assert.equal(
      await count("llm_request_duration_seconds_count", "openai"),
      2,
    );
    assert.equal(
      await count("llm_request_duration_seconds_sum", "openai"),
      1.6,
    );
    assert.equal(
      await count("llm_time_to_first_token_seconds_count", "azure"),
      1,
    );
    assert.equal(
      await count("llm_time_to_first_token_seconds_sum", "azure"),
      0.4,
    );
    assert.equal(
      await count("llm_time_to_first_token_seconds_count", "openai"),
      undefined,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("llmMetrics() counts the tokens of a model without a price and no cost for it", async () => {
  const registry = new Registry();
  try {
    const local = llmMetrics(registry, { name: "ollama" });
    local.request("llama3", {
      status: "success",
      durationSeconds: 2,
      inputTokens: 50,
      outputTokens: 60,
    });
    assert.equal(
      await sampleValue(registry, "llm_tokens_total", {
        provider: "ollama",
        model: "llama3",
        type: "output",
      }),
      60,
    );
    assert.doesNotMatch(await registry.metrics(), /^llm_cost_usd_total\{/m);
    assert.match(
      await registry.metrics(),
      /^# TYPE llm_cost_usd_total counter$/m,
    );
  } finally {
    await registry.close();
  }
});

Deno.test('llmMetrics() folds models past maxModels into model="other", priced by their own name', async () => {
  const registry = new Registry();
  try {
    const openai = llmMetrics(registry, {
      name: "openai",
      prices: PRICES,
      maxModels: 2,
    });
    const usage = { inputTokens: 1_000_000, outputTokens: 0 };
    openai.tokens("gpt-4o", usage);
    openai.tokens("o1", usage);
    openai.tokens("gpt-4o-mini", usage);
    openai.tokens("gpt-4o", usage);
    await assertMetrics(
      registry,
      `
      # TYPE llm_tokens_total counter
      llm_tokens_total{provider="openai",model="gpt-4o",type="input"} 2000000
      llm_tokens_total{provider="openai",model="gpt-4o",type="output"} 0
      llm_tokens_total{provider="openai",model="o1",type="input"} 1000000
      llm_tokens_total{provider="openai",model="o1",type="output"} 0
      llm_tokens_total{provider="openai",model="other",type="input"} 1000000
      llm_tokens_total{provider="openai",model="other",type="output"} 0
      # TYPE llm_cost_usd_total counter
      llm_cost_usd_total{provider="openai",model="gpt-4o"} 5
      llm_cost_usd_total{provider="openai",model="other"} 0.15
      `,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("llmMetrics().timed() records a call's status, duration and usage, sync and async, on success and failure", async () => {
  const registry = new Registry();
  try {
    const openai = llmMetrics(registry, { name: "openai", prices: PRICES });
    const usage = (r: { used: number }) => ({
      inputTokens: r.used,
      outputTokens: 1,
    });
    assert.deepEqual(openai.timed("gpt-4o", () => ({ used: 4 }), { usage }), {
      used: 4,
    });
    assert.deepEqual(
      await openai.timed("gpt-4o", () => Promise.resolve({ used: 6 }), {
        usage,
      }),
      { used: 6 },
    );
    await assert.rejects(
      openai.timed("gpt-4o", () => Promise.reject(new Error("429")), {
        status: (e) =>
          e instanceof Error && e.message === "429"
            ? LlmStatus.rate_limited
            : LlmStatus.error,
      }),
      /429/,
    );
    assert.throws(
      () =>
        openai.timed("gpt-4o", () => {
          throw new Error("down");
        }),
      /down/,
    );
    await assertMetrics(
      registry,
      `
      # TYPE llm_requests_total counter
      llm_requests_total{provider="openai",model="gpt-4o",status="success"} 2
      llm_requests_total{provider="openai",model="gpt-4o",status="rate_limited"} 1
      llm_requests_total{provider="openai",model="gpt-4o",status="error"} 1
      # TYPE llm_tokens_total counter
      llm_tokens_total{provider="openai",model="gpt-4o",type="input"} 10
      llm_tokens_total{provider="openai",model="gpt-4o",type="output"} 2
      `,
    );
    assert.equal(
      await sampleValue(registry, "llm_request_duration_seconds_count", {
        provider: "openai",
        model: "gpt-4o",
      }),
      4,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("llmMetrics().stream() records the time to the first token once, and the request once", async () => {
  const registry = new Registry();
  try {
    const openai = llmMetrics(registry, { name: "openai" });
    const stream = openai.stream("gpt-4o");
    stream.firstToken();
    stream.firstToken();
    stream.end("success", { inputTokens: 3, outputTokens: 7 });
    stream.end("error");
    const silent = openai.stream("gpt-4o");
    silent.end("timeout");
    const series = { provider: "openai", model: "gpt-4o" };
    assert.equal(
      await sampleValue(registry, "llm_streaming_requests_total", series),
      2,
    );
    assert.equal(
      await sampleValue(
        registry,
        "llm_time_to_first_token_seconds_count",
        series,
      ),
      1,
    );
    await assertMetrics(
      registry,
      `
      # TYPE llm_requests_total counter
      llm_requests_total{provider="openai",model="gpt-4o",status="success"} 1
      llm_requests_total{provider="openai",model="gpt-4o",status="timeout"} 1
      `,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("llmMetrics() refuses bad prices, models, statuses and amounts, naming the field", async () => {
  const registry = new Registry();
  try {
    assert.throws(
      () =>
        llmMetrics(registry, {
          name: "openai",
          prices: { "gpt-4o": { input: -1, output: 10 } },
        }),
      {
        name: "RangeError",
        message:
          'Cannot create the llm kit: prices["gpt-4o"].input must be a finite number of USD per million tokens, not negative, got -1',
      },
    );
    assert.throws(
      () =>
        llmMetrics(registry, {
          name: "openai",
          prices: { "gpt-4o": { input: 1 } } as never,
        }),
      {
        name: "RangeError",
        message: /prices\["gpt-4o"\]\.output .* got undefined$/,
      },
    );
    assert.throws(
      () => llmMetrics(registry, { name: "openai", prices: [] as never }),
      { name: "TypeError", message: /prices must be an object/ },
    );
    assert.throws(
      () => llmMetrics(registry, { name: "openai", maxModels: 0 }),
      { name: "RangeError", message: /maxModels must be in \[1, / },
    );
    assert.throws(() => llmMetrics(registry, { name: "" }), {
      name: "TypeError",
      message:
        'Cannot create the llm kit: name must be a non-empty string, got ""',
    });
    const openai = llmMetrics(registry, { name: "openai" });
    assert.throws(
      () => openai.request("", { status: "success", durationSeconds: 1 }),
      {
        name: "TypeError",
        message:
          'Cannot record a request of provider "openai": model must be a non-empty string, got ""',
      },
    );
    assert.throws(
      () =>
        openai.request(
          "gpt-4o",
          { status: "200", durationSeconds: 1 } as never,
        ),
      {
        name: "TypeError",
        message:
          'Cannot record a request to provider "openai": status must be one of success, error, rate_limited, timeout, cancelled, got "200"',
      },
    );
    assert.throws(
      () =>
        openai.request("gpt-4o", { status: "success", durationSeconds: NaN }),
      {
        name: "RangeError",
        message:
          'Cannot record a request to provider "openai": durationSeconds must be finite and not negative, got NaN',
      },
    );
    assert.throws(
      () =>
        openai.request("gpt-4o", {
          status: "success",
          durationSeconds: 1,
          timeToFirstTokenSeconds: -1,
        }),
      { name: "RangeError", message: /timeToFirstTokenSeconds must be finite/ },
    );
    assert.throws(
      () => openai.tokens("gpt-4o", { inputTokens: 1, outputTokens: -5 }),
      {
        name: "RangeError",
        message:
          'Cannot record tokens of provider "openai": outputTokens must be finite and not negative, got -5',
      },
    );
    assert.throws(
      () =>
        openai.tokens("gpt-4o", { inputTokens: "1" as never, outputTokens: 0 }),
      {
        name: "TypeError",
        message: /inputTokens must be a number, got string/,
      },
    );
    // Nothing half-recorded by the refused calls.
    assert.doesNotMatch(await registry.metrics(), /^llm_requests_total\{/m);
    assert.doesNotMatch(await registry.metrics(), /^llm_tokens_total\{/m);
  } finally {
    await registry.close();
  }
});

Deno.test("llmKit() checks its options, naming the field", () => {
  assert.throws(() => llmKit({ errorRatio: 0 }), {
    name: "RangeError",
    message: "Cannot create the llm kit: errorRatio must be in (0, 1), got 0",
  });
  assert.throws(() => llmKit({ costSpikeFactor: 1 }), {
    name: "RangeError",
    message: /costSpikeFactor must be in \(1, 1000\), got 1$/,
  });
  assert.throws(() => llmKit({ costSpikeMinUsdPerHour: -1 }), {
    name: "RangeError",
    message: /costSpikeMinUsdPerHour must be in \[0, /,
  });
  assert.throws(() => llmKit({ costSpikeFor: "quarter" }), {
    name: "TypeError",
    message: /costSpikeFor must be a Prometheus duration/,
  });
  assert.throws(() => llmKit({ costSpikeFactor: 10, costSpikeFor: "3h" }), {
    name: "RangeError",
    message:
      'Cannot create the llm kit: costSpikeFor must be shorter than 1d / costSpikeFactor, got "3h" with a factor of 10',
  });
});

Deno.test({
  name:
    "llmKit() rules pass promtool: ProviderErrorRate and CostSpike fire just past their thresholds, silent just within",
  ignore: await ignoreWithoutPromtool(),
  async fn(t) {
    await t.step("defaults", async () => {
      const rules = await assertKitRules(llmKit(), setup);
      assert.match(
        rules,
        /job_provider:llm_request_errors:ratio_rate5m\{job="api"\} > 0\.1/,
      );
      assert.match(
        rules,
        /\(sum by \(job, provider\) \(rate\(llm_cost_usd_total\{job="api"\}\[1h\]\)\) \* 3600 > 3 \* sum by \(job, provider\) \(rate\(llm_cost_usd_total\{job="api"\}\[1d\] offset 1h\)\) \* 3600\) and sum by \(job, provider\) \(rate\(llm_cost_usd_total\{job="api"\}\[1h\]\)\) \* 3600 > 1/,
      );
    });
    await t.step("other thresholds", async () => {
      await assertKitRules(
        llmKit({
          errorRatio: 0.02,
          errorRatioFor: "10m",
          costSpikeFactor: 1.5,
          costSpikeMinUsdPerHour: 20,
          costSpikeFor: "1h",
        }),
        setup,
      );
    });
    await t.step("no floor", async () => {
      await assertKitRules(
        llmKit({ costSpikeFactor: 5, costSpikeMinUsdPerHour: 0 }),
        setup,
      );
    });
  },
});

Deno.test({
  name: "llmKit() row's queries parse in promtool",
  ignore: await ignoreWithoutPromtool(),
  async fn() {
    await assertKitRowParses(llmKit(), setup);
  },
});

Deno.test("declareKit() prices a gateway's sidecar tokens by the model label, provider prefix or not", async () => {
  const registry = new Registry();
  try {
    declareKit(registry, {
      kind: "llm",
      name: "gateway",
      prices: {
        "openai/gpt-4o": { input: 2.5, output: 10 },
        "gateway/small": { input: 1, output: 1 },
      },
    });
    const tokens = registry.getMetric("llm_tokens_total")!;
    const add = (model: string, type: string, n: number) =>
      (tokens.labels({ provider: "gateway", model, type }) as {
        inc(n: number): void;
      }).inc(n);
    add("openai/gpt-4o", "input", 1000);
    add("openai/gpt-4o", "output", 500);
    add("small", "input", 1_000_000);
    assert.equal(
      await sampleValue(registry, "llm_cost_usd_total", {
        provider: "gateway",
        model: "openai/gpt-4o",
      }),
      0.0075,
    );
    assert.equal(
      await sampleValue(registry, "llm_cost_usd_total", {
        provider: "gateway",
        model: "small",
      }),
      1,
    );
  } finally {
    await registry.close();
  }
});
