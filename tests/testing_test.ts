import assert from "node:assert/strict";
import { AssertionError } from "node:assert";
import { Registry } from "../src/metrics/registry.ts";
import {
  assertExpositionParses,
  assertMetrics,
  parseExposition,
  sampleValue,
} from "../src/testing.ts";

async function withRegistry(
  fn: (registry: Registry) => Promise<void>,
): Promise<void> {
  const registry = new Registry();
  try {
    const requests = registry.counter({
      name: "requests_total",
      help: "Requests",
      labelNames: ["route", "status"],
    });
    requests.labels({ route: "/a", status: "200" }).inc(3);
    requests.labels({ route: "/b", status: "500" }).inc();
    registry.histogram({
      name: "work_seconds",
      help: "Work",
      buckets: [0.1, 1],
    }).observe(0.5);
    registry.gauge({ name: "queue_depth", help: "Queue" }).set(4);
    await fn(registry);
  } finally {
    await registry.close();
  }
}

Deno.test("sampleValue() reads a sample by its exact labels, in any order, and bounds as numbers", async () => {
  await withRegistry(async (registry) => {
    assert.equal(
      await sampleValue(registry, "requests_total", {
        status: "200",
        route: "/a",
      }),
      3,
    );
    // Labels must match exactly: a subset names no sample.
    assert.equal(
      await sampleValue(registry, "requests_total", { route: "/a" }),
      undefined,
    );
    assert.equal(
      await sampleValue(registry, "work_seconds_bucket", { le: "1" }),
      1,
    );
    assert.equal(
      await sampleValue(registry, "work_seconds_bucket", { le: "0.1" }),
      0,
    );
    assert.equal(
      await sampleValue(registry, "work_seconds_bucket", { le: "+Inf" }),
      1,
    );
    assert.equal(await sampleValue(registry, "queue_depth"), 4);
    assert.equal(await sampleValue("up 1\n", "up"), 1);
  });
});

Deno.test("assertMetrics() passes on the named families in any order, and lists every difference otherwise", async () => {
  await withRegistry(async (registry) => {
    await assertMetrics(
      registry,
      `
      # HELP requests_total Requests
      # TYPE requests_total counter
      requests_total{status="500",route="/b"} 1
      requests_total{route="/a",status="200"} 3
      # TYPE work_seconds histogram
      work_seconds_bucket{le="1"} 1
      work_seconds_bucket{le="0.1"} 0
      work_seconds_bucket{le="+Inf"} 1
      work_seconds_sum 0.5
      work_seconds_count 1
      `,
    );
    await assert.rejects(
      assertMetrics(
        registry,
        `
        # HELP requests_total All requests
        # TYPE requests_total gauge
        requests_total{route="/a",status="200"} 4
        requests_total{route="/c",status="200"} 1
        # TYPE absent_total counter
        absent_total 1
        `,
      ),
      (error: Error) => {
        assert.ok(error instanceof AssertionError);
        const lines = error.message.split("\n").map((l) => l.trim());
        assert.deepEqual(
          lines.slice(1).sort(),
          [
            'family requests_total: HELP "Requests", expected "All requests"',
            "family requests_total: TYPE counter, expected gauge",
            "family absent_total: not exposed",
            'missing requests_total{route="/c",status="200"} 1',
            'requests_total{route="/a",status="200"}: 3, expected 4',
            'unexpected requests_total{route="/b",status="500"} 1',
          ].sort(),
        );
        return true;
      },
    );
  });
});

Deno.test("assertExpositionParses() accepts a registry's output and names the line of a broken one", async () => {
  await withRegistry(async (registry) => {
    const families = await assertExpositionParses(registry);
    assert.ok(families.some((f) => f.name === "work_seconds"));
  });
  await assert.rejects(
    assertExpositionParses("# TYPE a counter\na 1\nb 2\na 3\n"),
    (error: Error) => {
      assert.ok(error instanceof AssertionError);
      assert.match(error.message, /^The exposition does not parse: .*line 4/);
      return true;
    },
  );
  assert.throws(() => parseExposition('x{a="1"} 1\nx{a="1"} 2\n'), /line 2/);
});

Deno.test("assertMetrics() refuses an expected text naming no family, checks TYPE-only families and catches duplicated bounds", async () => {
  await withRegistry(async (registry) => {
    for (const expected of ["", "# just a comment\n"]) {
      await assert.rejects(assertMetrics(registry, expected), {
        name: "TypeError",
        message: "Cannot compare metrics: the expected text names no family",
      });
    }
    await assert.rejects(
      assertMetrics(registry, "# TYPE requests_total gauge\n"),
      /family requests_total: TYPE counter, expected gauge/,
    );
    await assert.rejects(
      assertMetrics(registry, "# TYPE missing_total counter\n"),
      /family missing_total: not exposed/,
    );
    await assert.rejects(
      assertMetrics(
        registry,
        `
        # TYPE work_seconds histogram
        work_seconds_bucket{le="1"} 99
        work_seconds_bucket{le="1.0"} 1
        `,
      ),
      /work_seconds_bucket\{le="1"\} is given twice/,
    );
    // Timestamps in the expected text are ignored.
    await assertMetrics(
      registry,
      "# TYPE queue_depth gauge\nqueue_depth 4 1700000000000\n",
    );
    assert.equal(await sampleValue("up 1 1700000000000\n", "up"), 1);
  });
});
