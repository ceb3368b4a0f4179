import assert from "node:assert/strict";
import {
  type CollectedFamily,
  type Collector,
  DuplicateMetricError,
  Registry,
} from "../../src/metrics/mod.ts";
import {
  ignoreWithoutPromtool,
  ignoreWithoutPython,
  parseOpenMetrics,
  promtoolCheck,
  recordingLogger,
} from "../_tools.ts";

const FAMILIES: CollectedFamily[] = [
  {
    name: "jobs_total",
    type: "counter",
    help: "Jobs run",
    samples: [{
      name: "jobs_total",
      labelNames: ["queue"],
      labelValues: ['a"b\\c\nd'],
      value: 3,
    }],
  },
  {
    name: "legacy",
    type: "counter",
    help: "A counter without _total",
    samples: [{ name: "legacy", labelNames: [], labelValues: [], value: 1 }],
  },
  {
    name: "temperature",
    type: "untyped",
    help: undefined,
    samples: [{
      name: "temperature",
      labelNames: [],
      labelValues: [],
      value: NaN,
    }],
  },
  {
    name: "job_seconds",
    type: "histogram",
    help: "Job time\nin seconds",
    samples: [
      {
        name: "job_seconds_bucket",
        labelNames: ["le"],
        labelValues: ["1"],
        value: 1,
      },
      {
        name: "job_seconds_bucket",
        labelNames: ["le"],
        labelValues: ["+Inf"],
        value: 2,
      },
      { name: "job_seconds_sum", labelNames: [], labelValues: [], value: 2.5 },
      { name: "job_seconds_count", labelNames: [], labelValues: [], value: 2 },
    ],
  },
  {
    name: "rpc_seconds",
    type: "summary",
    help: "RPC time",
    samples: [
      {
        name: "rpc_seconds",
        labelNames: ["quantile"],
        labelValues: ["0.5"],
        value: 0.1,
      },
      { name: "rpc_seconds_sum", labelNames: [], labelValues: [], value: 1 },
      { name: "rpc_seconds_count", labelNames: [], labelValues: [], value: 10 },
    ],
  },
];

function collector(
  families: CollectedFamily[] | (() => CollectedFamily[]),
  described: string[] = [],
): Collector {
  return {
    describe: () => described,
    collect: () => typeof families === "function" ? families() : families,
  };
}

Deno.test("Registry.register() renders collected families in text 0.0.4 after the registry's own", async () => {
  const registry = new Registry({ defaultLabels: { service: "api" } });
  try {
    registry.gauge({ name: "own_gauge", help: "Own" }).set(1);
    registry.register(collector(FAMILIES));
    const text = await registry.metrics();
    assert.ok(text.indexOf("own_gauge") < text.indexOf("jobs_total"));
    assert.ok(text.indexOf("rpc_seconds") < text.indexOf("vigil_"));
    for (
      const line of [
        "# HELP jobs_total Jobs run",
        "# TYPE jobs_total counter",
        'jobs_total{service="api",queue="a\\"b\\\\c\\nd"} 3',
        "# TYPE legacy counter",
        'legacy{service="api"} 1',
        "# TYPE temperature untyped",
        'temperature{service="api"} NaN',
        "# HELP job_seconds Job time\\nin seconds",
        // Verbatim, as a Pushgateway serves what was pushed.
        'job_seconds_bucket{service="api",le="1"} 1',
        'job_seconds_bucket{service="api",le="+Inf"} 2',
        'rpc_seconds{service="api",quantile="0.5"} 0.1',
        'rpc_seconds_count{service="api"} 10',
      ]
    ) assert.ok(text.split("\n").includes(line), line);
    assert.doesNotMatch(text, /# HELP temperature/);
  } finally {
    await registry.close();
  }
});

Deno.test(
  "Registry.register() renders OpenMetrics that Python's parser reads",
  {
    ignore: await ignoreWithoutPython(),
  },
  async () => {
    const registry = new Registry();
    try {
      registry.register(collector(FAMILIES));
      const text = await registry.metrics({ format: "openmetrics" });
      assert.match(text, /^# TYPE jobs counter$/m);
      assert.match(text, /^jobs_total\{queue=".*"\} 3\.0$/m);
      // Named without _total: unknown, its sample named as given.
      assert.match(text, /^# TYPE legacy unknown$/m);
      assert.match(text, /^legacy 1\.0$/m);
      assert.match(text, /^# TYPE temperature unknown$/m);
      const parsed = await parseOpenMetrics(text);
      const byName = new Map(parsed.map((f) => [f.name, f]));
      assert.equal(byName.get("jobs")?.type, "counter");
      assert.deepEqual(byName.get("jobs")?.samples[0]?.labels, {
        queue: 'a"b\\c\nd',
      });
      assert.equal(byName.get("legacy")?.type, "unknown");
      assert.equal(byName.get("legacy")?.samples[0]?.name, "legacy");
      assert.equal(byName.get("temperature")?.type, "unknown");
      assert.equal(byName.get("job_seconds")?.type, "histogram");
      assert.equal(byName.get("job_seconds")?.help, "Job time\nin seconds");
      assert.equal(byName.get("rpc_seconds")?.samples.length, 3);
    } finally {
      await registry.close();
    }
  },
);

Deno.test("Registry.register() claims described names and frees them on unregister", async (t) => {
  const registry = new Registry();
  try {
    const c = collector([], ["jobs_total"]);
    const unregister = registry.register(c);
    await t.step("a metric cannot take a described name", () => {
      assert.throws(
        () => registry.counter({ name: "jobs_total", help: "Jobs" }),
        DuplicateMetricError,
      );
      assert.equal(registry.hasName("jobs_total"), true);
    });
    await t.step("a described name already taken is refused", () => {
      registry.gauge({ name: "taken", help: "Taken" });
      assert.throws(
        () => registry.register(collector([], ["taken"])),
        DuplicateMetricError,
      );
    });
    await t.step("the same collector twice is refused", () => {
      assert.throws(() => registry.register(c), TypeError);
    });
    await t.step("a malformed collector is refused", () => {
      assert.throws(
        () => registry.register({ describe: () => [] } as unknown as Collector),
        TypeError,
      );
      assert.throws(
        () => registry.register(collector([], ["bad-name"])),
        TypeError,
      );
    });
    await t.step("unregister frees the names, once", () => {
      assert.equal(unregister(), true);
      assert.equal(unregister(), false);
      assert.equal(registry.hasName("jobs_total"), false);
      registry.counter({ name: "jobs_total", help: "Jobs" });
    });
  } finally {
    await registry.close();
  }
});

Deno.test("Registry.register() skips and counts a colliding or malformed family, never failing the scrape", async () => {
  const logger = recordingLogger();
  const registry = new Registry({ logger });
  try {
    registry.gauge({ name: "queue", help: "Queue" }).set(2);
    registry.register(collector([
      {
        ...FAMILIES[1]!,
        name: "queue",
        samples: [{ name: "queue", labelNames: [], labelValues: [], value: 9 }],
      },
      {
        name: "ok",
        type: "gauge",
        help: "Ok",
        samples: [{ name: "ok", labelNames: [], labelValues: [], value: 1 }],
      },
      {
        name: "bad",
        type: "gauge",
        help: "Bad",
        samples: [{
          name: "bad_sum",
          labelNames: [],
          labelValues: [],
          value: 1,
        }],
      },
      {
        name: "badlabel",
        type: "gauge",
        help: "Bad",
        samples: [{
          name: "badlabel",
          labelNames: ["a-b"],
          labelValues: ["x"],
          value: 1,
        }],
      },
    ]));
    // Another collector emitting a name the first emitted in this scrape.
    registry.register(collector([
      {
        name: "ok",
        type: "gauge",
        help: "Again",
        samples: [{ name: "ok", labelNames: [], labelValues: [], value: 2 }],
      },
    ]));
    const text = await registry.metrics();
    assert.match(text, /^queue 2$/m);
    assert.doesNotMatch(text, /^queue 9$/m);
    assert.match(text, /^ok 1$/m);
    assert.doesNotMatch(text, /^ok 2$/m);
    assert.doesNotMatch(text, /^(bad|badlabel)\b/m);
    for (const metric of ["queue", "ok", "bad", "badlabel"]) {
      assert.match(
        text,
        new RegExp(
          `^vigil_collect_errors_total\\{metric="${metric}"\\} 1$`,
          "m",
        ),
      );
    }
  } finally {
    await registry.close();
  }
});

Deno.test("Registry.register() counts a collector that throws or rejects, and renders the rest", async () => {
  const registry = new Registry({ logger: recordingLogger() });
  try {
    registry.register({
      describe: () => ["broken_sync"],
      collect: () => {
        throw new Error("boom");
      },
    });
    registry.register({
      describe: () => [],
      collect: () => Promise.reject(new Error("later")),
    });
    registry.register({
      describe: () => ["fine"],
      collect: () =>
        Promise.resolve([{
          name: "fine",
          type: "gauge",
          help: "Fine",
          samples: [{
            name: "fine",
            labelNames: [],
            labelValues: [],
            value: 5,
          }],
        }]),
    });
    for (const format of ["prometheus", "openmetrics"] as const) {
      const text = await registry.metrics({ format });
      assert.match(text, /^fine 5(\.0)?$/m);
    }
    const text = await registry.metrics();
    assert.match(
      text,
      /^vigil_collect_errors_total\{metric="broken_sync"\} 3$/m,
    );
    assert.match(text, /^vigil_collect_errors_total\{metric="collector"\} 3$/m);
    const parts = await registry.metricsParts();
    assert.match(await new Blob(parts).text(), /^fine 5$/m);
  } finally {
    await registry.close();
  }
});

/** A sample, briefly. */
function sample(
  name: string,
  labels: Record<string, string> = {},
  value = 1,
): CollectedFamily["samples"][number] {
  return {
    name,
    labelNames: Object.keys(labels),
    labelValues: Object.values(labels),
    value,
  };
}

Deno.test({
  name:
    "Registry.register() drops a family that would break the scrape, and promtool accepts the rest",
  ignore: await ignoreWithoutPromtool(),
  async fn(t) {
    const cases: [string, CollectedFamily][] = [
      ["a label name twice in one sample", {
        name: "twice",
        type: "gauge",
        help: "Bad",
        samples: [{
          name: "twice",
          labelNames: ["a", "a"],
          labelValues: ["1", "2"],
          value: 1,
        }],
      }],
      ["one label set twice", {
        name: "dup",
        type: "gauge",
        help: "Bad",
        samples: [sample("dup", { a: "1" }), sample("dup", { a: "1" }, 2)],
      }],
      ["one label set twice once the default labels apply", {
        name: "dupdefault",
        type: "gauge",
        help: "Bad",
        samples: [sample("dupdefault"), sample("dupdefault", { region: "eu" })],
      }],
      ["label sets differing only in an empty value", {
        name: "dupempty",
        type: "gauge",
        help: "Bad",
        samples: [sample("dupempty"), sample("dupempty", { a: "" })],
      }],
      ["a bucket without le", {
        name: "h1",
        type: "histogram",
        help: "Bad",
        samples: [sample("h1_bucket"), sample("h1_sum"), sample("h1_count")],
      }],
      ["le on _sum", {
        name: "h2",
        type: "histogram",
        help: "Bad",
        samples: [
          sample("h2_bucket", { le: "+Inf" }),
          sample("h2_sum", { le: "1" }),
          sample("h2_count"),
        ],
      }],
      ["le that is not a number", {
        name: "h3",
        type: "histogram",
        help: "Bad",
        samples: [sample("h3_bucket", { le: "big" })],
      }],
      ["a summary sample without quantile", {
        name: "s1",
        type: "summary",
        help: "Bad",
        samples: [sample("s1"), sample("s1_count")],
      }],
      ["quantile on _count", {
        name: "s2",
        type: "summary",
        help: "Bad",
        samples: [
          sample("s2", { quantile: "0.5" }),
          sample("s2_count", { quantile: "0.5" }),
        ],
      }],
      ["a counter with x and x_total", {
        name: "c1_total",
        type: "counter",
        help: "Bad",
        samples: [sample("c1"), sample("c1_total", {}, 2)],
      }],
    ];
    for (const [what, family] of cases) {
      await t.step(what, async () => {
        const logger = recordingLogger();
        const registry = new Registry({
          logger,
          defaultLabels: { region: "eu" },
        });
        try {
          registry.register(collector([family, FAMILIES[3]!]));
          for (const format of ["prometheus", "openmetrics"] as const) {
            const text = await registry.metrics({ format });
            assert.doesNotMatch(
              text,
              new RegExp(`^${family.name.replace(/_total$/, "")}[_{ ]`, "m"),
            );
            assert.match(text, /^job_seconds_count\{region="eu"\} 2/m);
            if (format === "prometheus") {
              const checked = await promtoolCheck(text);
              assert.equal(
                checked.stderr.includes("error"),
                false,
                checked.stderr,
              );
              assert.match(
                text,
                new RegExp(
                  `^vigil_collect_errors_total\\{region="eu",metric="${family.name}"\\} 1$`,
                  "m",
                ),
              );
            }
          }
          const warning = logger.records.find((record) =>
            record.fields?.["event"] === "metrics.collect_failed"
          );
          // Not "keeps its last values": a collector's family is left out.
          assert.equal(
            warning?.message,
            "Collector failed: its family is left out of this scrape",
          );
        } finally {
          await registry.close();
        }
      });
    }
  },
});

Deno.test("a collector describing a family with its type claims the family's sample names too", async () => {
  const registry = new Registry();
  try {
    const unregister = registry.register({
      describe: () => [{ name: "q_seconds", type: "histogram" }, "plain"],
      collect: () => [],
    });
    for (const name of ["q_seconds_count", "q_seconds_bucket", "q_seconds"]) {
      assert.throws(
        () => registry.gauge({ name, help: "Taken" }),
        DuplicateMetricError,
        name,
      );
    }
    // A bare name claims itself only.
    registry.gauge({ name: "plain_count", help: "Free" });
    assert.equal(unregister(), true);
    registry.gauge({ name: "q_seconds_count", help: "Free again" });
  } finally {
    await registry.close();
  }
});
