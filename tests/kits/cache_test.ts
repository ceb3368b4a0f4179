import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import { cacheMetrics } from "../../src/kits/mod.ts";
import { assertMetrics, sampleValue } from "../../src/testing.ts";

Deno.test("cacheMetrics() records hits, misses, size, items and timed operations per cache, two caches sharing the families", async () => {
  const registry = new Registry();
  try {
    const redis = cacheMetrics(registry, { name: "redis" });
    const local = cacheMetrics(registry, { name: "local" });
    redis.hit();
    redis.hit(2);
    redis.miss();
    local.miss(4);
    redis.size(1024);
    redis.items(12);
    assert.equal(redis.timed("get", () => "v"), "v");
    await assert.rejects(
      local.timed("set", () => Promise.reject(new Error("full"))),
      /full/,
    );
    await assertMetrics(
      registry,
      `
      # TYPE cache_hits_total counter
      cache_hits_total{cache="redis"} 3
      cache_hits_total{cache="local"} 0
      # TYPE cache_misses_total counter
      cache_misses_total{cache="redis"} 1
      cache_misses_total{cache="local"} 4
      # TYPE cache_size_bytes gauge
      cache_size_bytes{cache="redis"} 1024
      cache_size_bytes{cache="local"} 0
      # TYPE cache_items gauge
      cache_items{cache="redis"} 12
      cache_items{cache="local"} 0
      `,
    );
    assert.equal(
      await sampleValue(registry, "cache_operation_duration_seconds_count", {
        cache: "redis",
        operation: "get",
      }),
      1,
    );
    assert.equal(
      await sampleValue(registry, "cache_operation_duration_seconds_count", {
        cache: "local",
        operation: "set",
      }),
      1,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("cacheMetrics() refuses an empty name, and a registry holding its names as other metrics", async () => {
  const registry = new Registry();
  try {
    assert.throws(() => cacheMetrics(registry, { name: " " }), {
      name: "TypeError",
      message:
        'Cannot create the cache kit: name must be a non-empty string, got " "',
    });
    registry.gauge({ name: "cache_hits_total", help: "Not a counter" });
    assert.throws(() => cacheMetrics(registry, { name: "redis" }), {
      name: "TypeError",
      message:
        'Cannot share metric "cache_hits_total": the registry holds it as another metric than this kit\'s counter with labels cache',
    });
  } finally {
    await registry.close();
  }
});
