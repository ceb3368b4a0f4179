import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import { streamKit, streamMetrics } from "../../src/kits/stream.ts";
import { assertMetrics, sampleValue } from "../../src/testing.ts";
import { ignoreWithoutPromtool } from "../_tools.ts";
import { assertKitRowParses, assertKitRules } from "./_kit_promtool.ts";

const setup = (registry: Registry) =>
  void streamMetrics(registry, { name: "quotes" });

Deno.test("streamMetrics() records events, their time, reconnections and state per source, two sources sharing the families", async () => {
  const registry = new Registry();
  try {
    const before = Date.now() / 1000;
    const quotes = streamMetrics(registry, { name: "quotes" });
    const trades = streamMetrics(registry, { name: "trades" });
    const created = await sampleValue(
      registry,
      "stream_last_event_timestamp_seconds",
      { source: "trades" },
    );
    assert.ok(created !== undefined && created >= before, String(created));
    quotes.event();
    quotes.event(4);
    quotes.reconnect();
    quotes.reconnect();
    quotes.up(true);
    trades.up(false);
    await assertMetrics(
      registry,
      `
      # TYPE stream_events_total counter
      stream_events_total{source="quotes"} 5
      stream_events_total{source="trades"} 0
      # TYPE stream_reconnections_total counter
      stream_reconnections_total{source="quotes"} 2
      stream_reconnections_total{source="trades"} 0
      # TYPE stream_up gauge
      stream_up{source="quotes"} 1
      stream_up{source="trades"} 0
      `,
    );
    const last = await sampleValue(
      registry,
      "stream_last_event_timestamp_seconds",
      { source: "quotes" },
    );
    assert.ok(last !== undefined && last >= created!, String(last));
    assert.ok(last <= Date.now() / 1000);
  } finally {
    await registry.close();
  }
});

Deno.test("streamMetrics() exposes no state before the first up()", async () => {
  const registry = new Registry();
  try {
    streamMetrics(registry, { name: "quotes" });
    assert.equal(
      await sampleValue(registry, "stream_up", { source: "quotes" }),
      undefined,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("streamMetrics() refuses a non-boolean state, a negative event count and an empty name", async () => {
  const registry = new Registry();
  try {
    const quotes = streamMetrics(registry, { name: "quotes" });
    assert.throws(() => quotes.up(1 as unknown as boolean), {
      name: "TypeError",
      message:
        'Cannot set the state of stream source "quotes": connected must be a boolean, got number',
    });
    assert.throws(() => quotes.event(-1), RangeError);
    assert.throws(() => streamMetrics(registry, { name: " " }), {
      name: "TypeError",
      message:
        'Cannot create the stream kit: name must be a non-empty string, got " "',
    });
  } finally {
    await registry.close();
  }
});

Deno.test("streamKit() checks its options, naming the field", () => {
  assert.throws(() => streamKit({ staleSeconds: 0 }), {
    name: "RangeError",
    message: /^Cannot create the stream kit: staleSeconds must be in \[1, /,
  });
  assert.throws(() => streamKit({ reconnects: NaN }), {
    name: "RangeError",
    message: /reconnects must be in \[1, \d+\], got NaN$/,
  });
  assert.throws(() => streamKit({ staleFor: "1 minute" }), {
    name: "TypeError",
    message: /staleFor must be a Prometheus duration/,
  });
  assert.throws(() => streamKit({ reconnectsWindow: "1m" }), {
    name: "RangeError",
    message:
      'Cannot create the stream kit: reconnectsWindow must be at least 2m, got "1m"',
  });
  const [stale, reconnects] = streamKit({
    staleSeconds: 60,
    reconnects: 3,
    reconnectsWindow: "1h",
  }).alerts;
  assert.equal(
    stale!.expr,
    "time() - stream_last_event_timestamp_seconds > 60",
  );
  assert.equal(
    reconnects!.expr,
    "increase(stream_reconnections_total[1h]) > 3",
  );
});

Deno.test({
  name:
    "streamKit() rules pass promtool: StaleStream a second past the threshold and FrequentReconnects one past it fire, just within stays silent",
  ignore: await ignoreWithoutPromtool(),
  async fn(t) {
    await t.step("defaults", async () => {
      const rules = await assertKitRules(streamKit(), setup);
      assert.match(
        rules,
        /time\(\) - stream_last_event_timestamp_seconds\{job="api"\} > 300/,
      );
      assert.match(
        rules,
        /increase\(stream_reconnections_total\{job="api"\}\[15m\]\) > 5/,
      );
    });
    await t.step("other thresholds", async () => {
      await assertKitRules(
        streamKit({
          staleSeconds: 45,
          staleFor: "3m",
          reconnects: 2,
          reconnectsWindow: "1h",
          reconnectsFor: "2m",
        }),
        setup,
      );
    });
  },
});

Deno.test({
  name: "streamKit() row's queries parse in promtool",
  ignore: await ignoreWithoutPromtool(),
  async fn() {
    await assertKitRowParses(streamKit(), setup);
  },
});

Deno.test("a second streamMetrics() call for a source keeps its last event time", async () => {
  const registry = new Registry();
  try {
    streamMetrics(registry, { name: "quotes" });
    const stamped = await sampleValue(
      registry,
      "stream_last_event_timestamp_seconds",
      { source: "quotes" },
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    streamMetrics(registry, { name: "quotes" });
    assert.equal(
      await sampleValue(registry, "stream_last_event_timestamp_seconds", {
        source: "quotes",
      }),
      stamped,
    );
  } finally {
    await registry.close();
  }
});
