// Label values as stored: well-formed, bounded in length, and what the
// overflow counter counts when a label set is not stored.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DEFAULT_MAX_LABEL_VALUE_LENGTH,
  OVERFLOW_LABEL_VALUE,
  Registry,
} from "../../src/metrics/mod.ts";
import { recordingLogger } from "../_tools.ts";

/** The value of one sample line, or undefined when there is none. */
function sample(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length));
}

/** The sample lines of a family's samples, as a scraper decodes them. */
function scraped(text: string, prefix: string): string[] {
  const decoded = new TextDecoder().decode(new TextEncoder().encode(text));
  return decoded.split("\n").filter((line) => line.startsWith(prefix));
}

Deno.test("labels() stores lone surrogates as U+FFFD: one series, never two identical lines", async () => {
  const r = new Registry({ logger: recordingLogger() });
  try {
    const c = r.counter({ name: "req", help: "x", labelNames: ["path"] });
    const replaced = c.labels({ path: "\uFFFD" });
    replaced.inc();
    const lone = c.labels({ path: "\uD800" });
    assert.equal(lone, replaced);
    lone.inc();
    // A lone low surrogate, and one of each inside longer text.
    c.labels({ path: "\uDC00" }).inc();
    c.labels({ path: "a\uD83Db" }).inc();
    c.labels({ path: "a\uFFFDb" }).inc();
    // A well-formed pair is kept as it is.
    c.labels({ path: "\uD83D\uDE00" }).inc();
    const lines = scraped(await r.metrics(), "req_total");
    assert.deepEqual(lines, [
      'req_total{path="\uFFFD"} 3',
      'req_total{path="a\uFFFDb"} 2',
      'req_total{path="\u{1F600}"} 1',
    ]);
    assert.equal(c.remove({ path: "\uDBFF" }), true);
    assert.deepEqual(
      scraped(await r.metrics(), 'req_total{path="\uFFFD"}'),
      [],
    );
  } finally {
    await r.close();
  }
});

Deno.test("Histogram snapshots() report stored, well-formed label values", async () => {
  const r = new Registry({
    logger: recordingLogger(),
    aggregation: { workers: 0 },
  });
  try {
    const h = r.histogram({ name: "h", help: "x", labelNames: ["k"] });
    h.labels({ k: "x\uD800" }).observe(1);
    h.labels({ k: "x\uFFFD" }).observe(2);
    const snapshots = await h.snapshots();
    assert.deepEqual(snapshots.map(({ labels }) => labels), [{ k: "x\uFFFD" }]);
    assert.equal(snapshots[0]?.snapshot.count, 2);
  } finally {
    await r.close();
  }
});

Deno.test("Any label values, lone surrogates included, render distinct series lines", async () => {
  // UTF-16 code units around the surrogate range, so lone and paired
  // surrogates and U+FFFD all turn up.
  const unit = fc.oneof(
    fc.integer({ min: 0xd7ff, max: 0xe000 }).map((c) => String.fromCharCode(c)),
    fc.constantFrom("\uFFFD", "a"),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.string({ unit, maxLength: 4 }), { maxLength: 30 }),
      async (values) => {
        const r = new Registry({ logger: recordingLogger() });
        try {
          const g = r.gauge({ name: "g", help: "x", labelNames: ["v"] });
          for (const v of values) g.labels({ v }).inc();
          const lines = scraped(await r.metrics(), "g{")
            .map((line) => line.slice(0, line.lastIndexOf(" ")));
          assert.equal(new Set(lines).size, lines.length);
          const expected = new Set(values.map((v) => v.toWellFormed()));
          assert.equal(lines.length, expected.size);
          for (const v of values) {
            assert.equal(g.labels({ v }), g.labels({ v: v.toWellFormed() }));
          }
        } finally {
          await r.close();
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("A label value longer than maxLabelValueLength is never stored: the overflow series answers, and each lookup is counted", async () => {
  const logger = recordingLogger();
  const r = new Registry({ logger, maxLabelValueLength: 8 });
  try {
    const c = r.counter({ name: "req", help: "x", labelNames: ["a", "b"] });
    c.labels({ a: "12345678", b: "ok" }).inc(); // at the limit: kept
    const long = "123456789";
    const folded = c.labels({ a: long, b: "ok" });
    folded.inc(2);
    assert.equal(c.labels({ a: "ok", b: long }), folded);
    c.labels({ a: long, b: long }).inc();
    // Removing what was never stored finds nothing.
    assert.equal(c.remove({ a: long, b: "ok" }), false);
    const text = await r.metrics();
    assert.equal(sample(text, 'req_total{a="12345678",b="ok"}'), 1);
    assert.equal(
      sample(
        text,
        `req_total{a="${OVERFLOW_LABEL_VALUE}",b="${OVERFLOW_LABEL_VALUE}"}`,
      ),
      3,
    );
    assert.doesNotMatch(text, /123456789/);
    assert.equal(
      sample(
        text,
        'vigil_cardinality_overflow_total{metric="req",reason="value_length"}',
      ),
      3,
    );
    const warnings = logger.records.filter((record) => record.level === "warn");
    assert.equal(warnings.length, 1);
    assert.deepEqual(warnings[0]?.fields, {
      event: "metrics.label_value_too_long",
      metric: "req",
      limit: 8,
    });
  } finally {
    await r.close();
  }
});

Deno.test("A 1 MB label value is answered by the overflow series under the default limit", async () => {
  const r = new Registry({ logger: recordingLogger() });
  try {
    assert.equal(DEFAULT_MAX_LABEL_VALUE_LENGTH, 4096);
    const c = r.counter({ name: "req", help: "x", labelNames: ["k"] });
    c.labels({ k: "x".repeat(4096) }).inc();
    c.labels({ k: "x".repeat(1 << 20) }).inc();
    const text = await r.metrics();
    assert.ok(text.length < 10_000, `${text.length} characters rendered`);
    assert.equal(sample(text, `req_total{k="${"x".repeat(4096)}"}`), 1);
    assert.equal(sample(text, `req_total{k="${OVERFLOW_LABEL_VALUE}"}`), 1);
  } finally {
    await r.close();
  }
});

Deno.test("vigil_cardinality_overflow_total counts lookups past the limit, by reason", async (t) => {
  const r = new Registry({
    logger: recordingLogger(),
    cardinalityLimit: 1,
    maxLabelValueLength: 4,
  });
  try {
    const c = r.counter({ name: "req", help: "x", labelNames: ["k"] });
    const g = r.gauge({ name: "depth", help: "x", labelNames: ["k"] });
    c.labels({ k: "a" }).inc();
    g.labels({ k: "a" }).set(1);
    const count = async (metric: string, reason: string) =>
      sample(
        await r.metrics(),
        `vigil_cardinality_overflow_total{metric="${metric}",reason="${reason}"}`,
      );
    await t.step("a series that exists is never counted", async () => {
      for (let i = 0; i < 5; i++) c.labels({ k: "a" }).inc();
      assert.equal(await count("req", "cardinality"), undefined);
    });
    await t.step("3 lookups of the same new label set count 3", async () => {
      for (let i = 0; i < 3; i++) c.labels({ k: "b" }).inc();
      assert.equal(await count("req", "cardinality"), 3);
    });
    await t.step("a kept child counts no further", async () => {
      const child = c.labels({ k: "c" });
      for (let i = 0; i < 10; i++) child.inc();
      assert.equal(await count("req", "cardinality"), 4);
    });
    await t.step(
      "too long counts as value_length, even past the cardinality limit",
      async () => {
        c.labels({ k: "toolong" }).inc();
        c.labels({ k: "toolong" }).inc();
        assert.equal(await count("req", "value_length"), 2);
        assert.equal(await count("req", "cardinality"), 4);
      },
    );
    await t.step("each metric has its own count", async () => {
      g.labels({ k: "b" }).set(2);
      assert.equal(await count("depth", "cardinality"), 1);
      assert.equal(await count("req", "cardinality"), 4);
    });
    await t.step("the help says what is counted", async () => {
      assert.match(
        await r.metrics(),
        /^# HELP vigil_cardinality_overflow_total Lookups answered with a metric's overflow series, by reason: cardinality .* value_length .*; a label set looked up again counts again$/m,
      );
    });
  } finally {
    await r.close();
  }
});

Deno.test("Registry checks maxLabelValueLength and default label values against it", () => {
  for (const limit of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(
      () => new Registry({ maxLabelValueLength: limit }),
      {
        name: "RangeError",
        message:
          `Cannot create registry: maxLabelValueLength must be a positive integer, got ${limit}`,
      },
    );
  }
  assert.throws(
    () =>
      new Registry({
        maxLabelValueLength: 3,
        defaultLabels: { service: "api-gateway" },
      }),
    {
      name: "RangeError",
      message:
        'Cannot create registry: default label "service" is 11 code units long: maxLabelValueLength is 3',
    },
  );
});

Deno.test("Default label values are stored well-formed too", async () => {
  const r = new Registry({
    logger: recordingLogger(),
    defaultLabels: { service: "api\uD800" },
  });
  try {
    r.gauge({ name: "up", help: "x" }).set(1);
    assert.equal(sample(await r.metrics(), 'up{service="api\uFFFD"}'), 1);
  } finally {
    await r.close();
  }
});
