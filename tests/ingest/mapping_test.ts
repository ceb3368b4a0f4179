import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type MappingRule,
  mergeLabels,
  StatsdMapper,
} from "../../src/ingest/mapping.ts";

const RULES: readonly MappingRule[] = [
  {
    match: "api.*.requests",
    name: "api_requests_total",
    labels: { endpoint: "$1" },
  },
  {
    match: "client.*.*.size",
    name: "client_${2}_size",
    labels: { client: "$1", direction: "$2" },
    type: "observer",
  },
  { match: "client.*.request.count", name: "request_count", type: "counter" },
  { match: "client.*.*.count", name: "client_count", labels: { c: "$1" } },
  { match: "noise.*", name: "ignored", action: "drop" },
  { match: "db.*.latency", name: "db_latency", observer: "summary" },
  { match: "odd.*", name: "$1" },
];

Deno.test("StatsdMapper maps globs with captures", async (t) => {
  const mapper = new StatsdMapper({ mappings: RULES });
  await t.step("one capture into a label", () => {
    assert.deepEqual(mapper.map("api.login.requests", "c"), {
      kind: "counter",
      name: "api_requests_total",
      labelNames: ["endpoint"],
      labelValues: ["login"],
      scale: 1,
      rule: 0,
    });
  });
  await t.step("captures in the name, ${n} form", () => {
    const mapped = mapper.map("client.web.in.size", "h");
    assert.ok(mapped.kind === "histogram");
    assert.equal(mapped.name, "client_in_size");
    assert.deepEqual(mapped.labelValues, ["web", "in"]);
  });
  await t.step("a type restriction skips other types", () => {
    // Rule 1 is for observers only: a counter falls through to no rule.
    const counter = mapper.map("client.web.in.size", "c");
    assert.ok(counter.kind === "counter");
    assert.equal(counter.rule, -1);
    assert.equal(counter.name, "client_web_in_size_total");
  });
  await t.step("the first matching rule wins, with backtracking", () => {
    const request = mapper.map("client.web.request.count", "c");
    assert.ok(request.kind === "counter");
    assert.equal(request.name, "request_count");
    // A gauge cannot take rule 2 and backtracks to the `*` branch of rule 3.
    const gauge = mapper.map("client.web.request.count", "g");
    assert.ok(gauge.kind === "gauge");
    assert.equal(gauge.name, "client_count");
    assert.equal(gauge.rule, 3);
  });
  await t.step("a glob matches whole components only", () => {
    assert.equal(mapper.map("api.login.requests.extra", "c").rule, -1);
    assert.equal(mapper.map("api.requests", "c").rule, -1);
    assert.equal(mapper.map("api..requests", "c").rule, 0);
  });
  await t.step("drop and summary rules", () => {
    assert.deepEqual(mapper.map("noise.x", "g"), { kind: "drop", rule: 4 });
    const summary = mapper.map("db.users.latency", "ms");
    assert.ok(summary.kind === "summary");
    assert.equal(summary.scale, 0.001);
  });
  await t.step("substituted names are sanitised, invalid ones reported", () => {
    const sanitised = mapper.map("odd.5xx-errors", "g");
    assert.ok(sanitised.kind === "gauge");
    assert.equal(sanitised.name, "_5xx_errors");
    assert.deepEqual(mapper.map("odd.", "g"), {
      kind: "invalid",
      reason: "bad_name",
      name: "",
      rule: 6,
    });
    assert.equal(mapper.map("odd.__x", "g").kind, "invalid");
  });
});

Deno.test("StatsdMapper defaults without a matching rule", () => {
  const mapper = new StatsdMapper();
  const cases: [string, "c" | "g" | "ms" | "h" | "d" | "s", string, string][] =
    [
      ["http.requests", "c", "counter", "http_requests_total"],
      ["jobs_total", "c", "counter", "jobs_total"],
      ["queue-depth", "g", "gauge", "queue_depth"],
      ["db.query", "ms", "histogram", "db_query_seconds"],
      ["rt_seconds", "ms", "histogram", "rt_seconds"],
      ["payload.bytes", "h", "histogram", "payload_bytes"],
      ["payload.bytes", "d", "histogram", "payload_bytes"],
      ["users", "s", "set", "users"],
    ];
  for (const [name, type, kind, metric] of cases) {
    const mapped = mapper.map(name, type);
    assert.ok(mapped.kind !== "drop" && mapped.kind !== "invalid");
    assert.deepEqual(
      [mapped.kind, mapped.name, mapped.scale],
      [kind, metric, type === "ms" ? 0.001 : 1],
      name,
    );
  }
  assert.equal(mapper.map("__secret", "g").kind, "invalid");
  assert.equal(
    new StatsdMapper({ defaultObserver: "summary" }).map("x", "h").kind,
    "summary",
  );
});

Deno.test("StatsdMapper caches per name and type, bounded", () => {
  const mapper = new StatsdMapper({ mappings: RULES, maxCacheSize: 3 });
  const first = mapper.map("api.a.requests", "c");
  assert.equal(mapper.map("api.a.requests", "c"), first, "same object");
  assert.notEqual(mapper.map("api.a.requests", "g"), first);
  for (const name of ["x1", "x2", "x3", "x4", "x5"]) mapper.map(name, "c");
  // 3 counters (the bound) and 1 gauge.
  assert.equal(mapper.cacheSize, 4);
  // The oldest counter entry was evicted: a new, equal object comes back.
  const again = mapper.map("api.a.requests", "c");
  assert.notEqual(again, first);
  assert.deepEqual(again, first);
});

Deno.test("StatsdMapper refuses invalid rules, naming them", () => {
  const cases: [unknown, RegExp][] = [
    [
      { match: "api.*.re$", name: "x" },
      /mappings\[0\]\.match "api\.\*\.re\$" has an invalid component "re\$"/,
    ],
    [{ match: "api.a*", name: "x" }, /mappings\[0\]\.match/],
    [{ match: "a..b", name: "x" }, /invalid component ""/],
    [{ match: "a.b", name: "1x" }, /mappings\[0\]\.name "1x" must match/],
    [{ match: "a.b", name: "a.b" }, /mappings\[0\]\.name/],
    [{ match: "a.b", name: "__x" }, /reserved/],
    [
      { match: "a.*", name: "x_$2" },
      /mappings\[0\]\.name refers to \$2, but the glob has 1 capture$/,
    ],
    [
      { match: "a.*", name: "x", labels: { v: "$3" } },
      /mappings\[0\]\.labels\.v refers to \$3/,
    ],
    [
      { match: "a.b", name: "x", labels: { "bad-name": "v" } },
      /mappings\[0\]\.labels: label name "bad-name"/,
    ],
    [{ match: "a.b", name: "x", labels: { le: "v" } }, /reserved/],
    [
      { match: "a.b", name: "x", type: "timer" },
      /mappings\[0\]\.type must be one of/,
    ],
    [{ match: "a.b", name: "x", action: "keep" }, /mappings\[0\]\.action/],
    [{ match: "a.b", name: "x", observer: "hdr" }, /mappings\[0\]\.observer/],
    [{ name: "x" }, /mappings\[0\]\.match must be a string/],
  ];
  for (const [rule, message] of cases) {
    assert.throws(
      () => new StatsdMapper({ mappings: [rule as MappingRule] }),
      message,
      JSON.stringify(rule),
    );
  }
  assert.throws(
    () => new StatsdMapper({ mappings: [RULES[0]!, { match: "", name: "x" }] }),
    /mappings\[1\]\.match/,
  );
  assert.throws(() => new StatsdMapper({ maxCacheSize: 0 }), RangeError);
});

Deno.test("StatsdMapper agrees with a linear reference matcher", () => {
  const component = fc.constantFrom("a", "b", "c");
  const glob = fc.array(fc.oneof(component, fc.constant("*")), {
    minLength: 1,
    maxLength: 4,
  });
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          glob,
          type: fc.constantFrom(undefined, "counter", "gauge"),
        }),
        { maxLength: 8 },
      ),
      fc.array(fc.constantFrom("a", "b", "c", "d"), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.constantFrom("c" as const, "g" as const),
      (rules, parts, type) => {
        const mappings: MappingRule[] = rules.map((rule, i) => ({
          match: rule.glob.join("."),
          name: `rule_${i}`,
          labels: {
            all: rule.glob.map((_, j) => `$${j + 1}`).slice(
              0,
              rule.glob.filter((c) => c === "*").length,
            ).join("-"),
          },
          ...(rule.type === undefined ? {} : { type: rule.type }),
        }));
        const name = parts.join(".");
        const expected = rules.findIndex((rule) =>
          rule.glob.length === parts.length &&
          rule.glob.every((c, i) => c === "*" || c === parts[i]) &&
          (rule.type === undefined ||
            rule.type === (type === "c" ? "counter" : "gauge"))
        );
        const mapped = new StatsdMapper({ mappings }).map(name, type);
        assert.equal(mapped.rule, expected);
        if (expected >= 0) {
          assert.ok(mapped.kind === "counter" || mapped.kind === "gauge");
          const glob = rules[expected]!.glob;
          const captured = parts.filter((_, i) => glob[i] === "*");
          assert.deepEqual(mapped.labelValues, [captured.join("-")]);
        }
      },
    ),
  );
});

Deno.test("mergeLabels() puts rule labels first and lets them win", () => {
  const mapper = new StatsdMapper({ mappings: RULES });
  const mapped = mapper.map("api.x.requests", "c");
  assert.ok(mapped.kind === "counter");
  const into = { names: ["stale"], values: ["stale"] };
  const merged = mergeLabels(mapped, {
    tagNames: ["env", "endpoint"],
    tagValues: ["prod", "tag"],
  }, { into });
  assert.equal(merged, into);
  assert.deepEqual(into, {
    names: ["endpoint", "env"],
    values: ["x", "prod"],
  });
});
