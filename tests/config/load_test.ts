import assert from "node:assert/strict";
import fc from "fast-check";
import { stringify } from "yaml";
import {
  ConfigError,
  defaultConfig,
  loadConfig,
  parseConfig,
} from "../../src/config/mod.ts";
import { configError, DEFAULTS, fixture, readFixture } from "./_helpers.ts";
import {
  MAX_BUCKETS,
  MAX_TIMER_MS,
  validateBuckets,
} from "../../src/base/_validation.ts";
import {
  BUILT_IN_CHECK_DEFAULTS,
  CHECK_DEFAULTS,
} from "../../src/health/defaults.ts";
import { VERSION } from "../../src/base/version.ts";

Deno.test("defaultConfig() holds the documented defaults", () => {
  assert.deepEqual(defaultConfig(), DEFAULTS);
  assert.equal("workers" in defaultConfig().metrics, false);
});

Deno.test("defaultConfig() returns a fresh copy each time", () => {
  const a = defaultConfig();
  (a.metrics.buckets as number[]).push(20);
  assert.deepEqual(defaultConfig().metrics.buckets, DEFAULTS.metrics.buckets);
});

Deno.test("parseConfig() of the embedded src/config/default.yaml equals defaultConfig()", () => {
  const text = Deno.readTextFileSync(
    new URL("../../src/config/default.yaml", import.meta.url),
  );
  assert.deepEqual(parseConfig(text, "default.yaml"), defaultConfig());
});

Deno.test("loadConfig() reads production.yaml with every section set", async () => {
  const config = await loadConfig(fixture("production.yaml"));
  assert.deepEqual(config, {
    service: {
      name: "checkout",
      version: "2.4.1",
      environment: "production",
    },
    server: {
      ...DEFAULTS.server,
      hostname: "0.0.0.0",
      aliases: {
        "/health/metrics": "/metrics",
        "/monitoring/metrics": "/metrics",
      },
      auth: { type: "bearer", token: "prod-token-7f3a" },
    },
    metrics: {
      ...DEFAULTS.metrics,
      defaultLabels: { region: "eu-west-1", team: "payments" },
      cardinalityLimit: 5000,
      workers: 3,
    },
    health: {
      checks: [
        {
          name: "postgres",
          type: "tcp",
          host: "db.internal",
          port: 5432,
          critical: true,
          timeoutMs: 2000,
          intervalMs: 10000,
          componentType: "datastore",
        },
        {
          name: "payments_api",
          type: "http",
          url: "https://monitor:hunter2@payments.internal/healthz",
          expectStatus: [200, 204],
          critical: false,
          timeoutMs: 5000,
          intervalMs: 10000,
          componentType: "http",
        },
        {
          name: "disk",
          type: "disk",
          path: "/var/lib/vigil",
          warnFreeRatio: 0.2,
          failFreeRatio: 0.1,
          critical: true,
          timeoutMs: 5000,
          intervalMs: 10000,
          componentType: "system",
        },
      ],
    },
    drift: {
      models: [
        {
          name: "ensemble",
          classes: [0, 1],
          detectors: [{ kind: "ddm" }, { kind: "adwin", input: "confidence" }],
        },
        {
          name: "price_model",
          regression: true,
          window: 500,
          detectors: [{
            kind: "page_hinkley",
            input: "residual",
            threshold: 25,
            mode: "up",
          }],
        },
      ],
      writeToken: "prod-write-9c1e",
    },
    logging: { ...DEFAULTS.logging, level: "warning" },
    tracing: {
      enabled: true,
      endpoint: "http://otel-collector:4318",
      sampleRatio: 0.1,
    },
    errors: {
      sentryDsn: "https://abc123@o0.ingest.sentry.io/42",
      sampleRate: 0.5,
    },
    kits: [
      { kind: "cache", name: "redis" },
      {
        kind: "llm",
        name: "openai",
        prices: { "gpt-4o": { input: 2.5, output: 10 } },
      },
    ],
    alerts: {
      ...DEFAULTS.alerts,
      errorRatio: 0.01,
      errorFor: "2m",
      accuracy: 0.9,
      runbookBase: "https://wiki.example.com/runbooks/checkout",
    },
    ingest: {
      statsd: {
        ...DEFAULTS.ingest.statsd,
        enabled: true,
        mappings: [{
          match: "checkout.*.latency",
          name: "checkout_step_seconds",
          labels: { step: "$1" },
          observer: "summary",
        }],
      },
      push: { ...DEFAULTS.ingest.push, ttlSeconds: 3600 },
    },
    slos: [
      {
        name: "checkout-availability",
        kind: "availability",
        objective: 99.95,
        window: "30d",
      },
      {
        name: "checkout-latency",
        kind: "latency",
        objective: 99,
        threshold: 0.5,
        window: "28d",
      },
    ],
  });
});

Deno.test("parseConfig() reads drift models as registry.model() takes them", async (t) => {
  await t.step("the issue's example", () => {
    const config = parseConfig(
      [
        "drift:",
        "  models:",
        "    - name: ensemble",
        "      classes: [0, 1]",
        "      detectors:",
        "        - { kind: ddm }",
        "        - { kind: adwin, input: confidence }",
      ].join("\n"),
      "c.yaml",
    );
    // Left-out options stay out: registry.model() owns their defaults.
    assert.deepEqual(config.drift, {
      models: [{
        name: "ensemble",
        classes: [0, 1],
        detectors: [{ kind: "ddm" }, { kind: "adwin", input: "confidence" }],
      }],
      writeToken: "",
    });
  });
  await t.step("detectors default to none, options keep their types", () => {
    const config = parseConfig(
      [
        "drift:",
        "  models:",
        "    - { name: bare }",
        "    - name: full",
        "      classes: [cat, dog, 3]",
        "      window: 50",
        "      positiveClass: dog",
        "      maxClasses: 3",
        "      detectors:",
        "        - { kind: hddm_a, twoSidedTest: true, driftConfidence: 0.01 }",
        "        - { kind: page_hinkley, input: confidence, mode: down }",
        "  writeToken: w-1",
      ].join("\n"),
      "c.yaml",
    );
    assert.deepEqual(config.drift.models, [
      { name: "bare", detectors: [] },
      {
        name: "full",
        classes: ["cat", "dog", 3],
        window: 50,
        positiveClass: "dog",
        maxClasses: 3,
        detectors: [
          { kind: "hddm_a", twoSidedTest: true, driftConfidence: 0.01 },
          { kind: "page_hinkley", input: "confidence", mode: "down" },
        ],
      },
    ]);
    assert.equal(config.drift.writeToken, "w-1");
  });
  await t.step("a residual detector makes a regression model", () => {
    const config = parseConfig(
      "drift:\n  models:\n    - name: price\n      detectors: [{ kind: adwin, input: residual }]\n",
      "c.yaml",
    );
    assert.deepEqual(config.drift.models[0]?.detectors, [
      { kind: "adwin", input: "residual" },
    ]);
  });
  await t.step("a bad detector's error names the file, line and key", () => {
    const error = configError(() =>
      parseConfig(
        [
          "drift:",
          "  models:",
          "    - name: ensemble",
          "      detectors:",
          "        - kind: adwin",
          "          clock: 0",
        ].join("\n"),
        "vigil.yaml",
      )
    );
    assert.equal(error.path, "drift.models[0].detectors[0].clock");
    assert.equal(error.line, 6);
    assert.equal(error.column, 18);
    assert.match(
      error.message,
      /^vigil\.yaml:6:18: drift\.models\[0\]\.detectors\[0\]\.clock: expected /,
    );
  });
  await t.step("an option named __proto__ is refused, not merged", () => {
    const error = configError(() =>
      parseConfig(
        "drift:\n  models:\n    - name: m\n      detectors: [{ kind: ddm, __proto__: { warmStart: 0 } }]\n",
        "c.yaml",
      )
    );
    assert.equal(error.path, "drift.models[0].detectors[0].__proto__");
    assert.equal(({} as Record<string, unknown>).warmStart, undefined);
  });
});

Deno.test("parseConfig() overrides only the keys a file names", async (t) => {
  await t.step("minimal.yaml changes the port alone", () => {
    const config = parseConfig(readFixture("minimal.yaml"), "minimal.yaml");
    assert.deepEqual(config, {
      ...DEFAULTS,
      server: { ...DEFAULTS.server, port: 8080 },
    });
  });
  await t.step("an empty or all-comment document gives the defaults", () => {
    assert.deepEqual(parseConfig("", "empty.yaml"), DEFAULTS);
    assert.deepEqual(parseConfig("# nothing\n", "empty.yaml"), DEFAULTS);
  });
  await t.step(
    "a section with every key commented out keeps its defaults",
    () => {
      assert.deepEqual(
        parseConfig("tracing:\n  # enabled: true\n", "c.yaml"),
        DEFAULTS,
      );
    },
  );
  await t.step("lists and maps replace the default as a whole", () => {
    const config = parseConfig(
      [
        "health:",
        "  checks: [{ name: db, type: tcp, host: db, port: 5432 }]",
        "metrics:",
        "  buckets: [1, 2]",
        "  defaultLabels: { a: x }",
      ].join("\n"),
      "c.yaml",
    );
    assert.deepEqual(config.health.checks.map((c) => c.name), ["db"]);
    assert.deepEqual(config.metrics.buckets, [1, 2]);
    assert.deepEqual(config.metrics.defaultLabels, { a: "x" });
    assert.equal(config.metrics.cardinalityLimit, 2000);
  });
  await t.step("an empty list turns the default checks off", () => {
    assert.deepEqual(
      parseConfig("health:\n  checks: []\n", "c.yaml").health.checks,
      [],
    );
  });
  await t.step("anchors and aliases are followed", () => {
    const config = parseConfig(
      [
        "server:",
        "  port: &port 5432",
        "health:",
        "  checks:",
        "    - { name: db, type: tcp, host: db, port: *port }",
      ].join("\n"),
      "c.yaml",
    );
    assert.equal(config.server.port, 5432);
    assert.deepEqual(config.health.checks[0], {
      name: "db",
      type: "tcp",
      host: "db",
      port: 5432,
      critical: true,
      timeoutMs: 5000,
      intervalMs: 10000,
      componentType: "datastore",
    });
  });
  await t.step("each check type has its own defaults", () => {
    const config = parseConfig(
      [
        "health:",
        "  checks:",
        "    - { name: a, type: http, url: 'http://a/' }",
        "    - { name: b, type: disk, path: / }",
        "    - { name: c, type: memory }",
        "    - { name: d, type: eventLoop }",
      ].join("\n"),
      "c.yaml",
    );
    const base = { critical: true, timeoutMs: 5000, intervalMs: 10000 };
    assert.deepEqual(config.health.checks, [
      {
        name: "a",
        type: "http",
        url: "http://a/",
        expectStatus: [],
        ...base,
        componentType: "http",
      },
      {
        name: "b",
        type: "disk",
        path: "/",
        warnFreeRatio: 0.2,
        failFreeRatio: 0.05,
        ...base,
        componentType: "system",
      },
      {
        name: "c",
        type: "memory",
        warnBytes: 1024 ** 3,
        failBytes: 2 * 1024 ** 3,
        ...base,
        componentType: "system",
      },
      {
        name: "d",
        type: "eventLoop",
        warnMs: 100,
        failMs: 1000,
        ...base,
        componentType: "system",
      },
    ]);
  });
});

Deno.test("parseConfig() takes the health-check defaults from src/health/defaults.ts", () => {
  const types = Object.keys(BUILT_IN_CHECK_DEFAULTS) as (
    keyof typeof BUILT_IN_CHECK_DEFAULTS
  )[];
  const required: Record<string, string> = {
    http: "url: 'http://a/'",
    tcp: "host: a, port: 1",
    disk: "path: /",
  };
  const config = parseConfig(
    [
      "health:",
      "  checks:",
      ...types.map((type) =>
        `    - { name: ${type}, type: ${type}, ${required[type] ?? ""} }`
      ),
    ].join("\n"),
    "c.yaml",
  );
  const { critical, timeoutMs, intervalMs } = CHECK_DEFAULTS;
  for (const [i, type] of types.entries()) {
    assert.deepEqual(
      config.health.checks[i],
      {
        ...config.health.checks[i],
        critical,
        timeoutMs,
        intervalMs,
        ...BUILT_IN_CHECK_DEFAULTS[type],
      },
      type,
    );
  }
});

Deno.test("src/config/default.yaml documents the health-check defaults it gets", () => {
  const text = Deno.readTextFileSync(
    new URL("../../src/config/default.yaml", import.meta.url),
  );
  for (const key of ["critical", "timeoutMs", "intervalMs"] as const) {
    assert.match(text, new RegExp(`^#   ${key}: ${CHECK_DEFAULTS[key]} `, "m"));
  }
  for (const [type, defaults] of Object.entries(BUILT_IN_CHECK_DEFAULTS)) {
    const line = text.match(new RegExp(`^#   ${type}: .*$`, "m"))?.[0] ?? "";
    for (const [key, value] of Object.entries(defaults)) {
      if (key === "componentType") continue;
      assert.ok(line.includes(`${key}: ${JSON.stringify(value)}`), line);
    }
  }
});

Deno.test("defaultConfig() leaves service.version to the user's service, not Vigil's", () => {
  assert.equal(defaultConfig().service.version, "unknown");
  assert.notEqual(defaultConfig().service.version, VERSION);
});

Deno.test("loadConfig() reads a file that starts with a UTF-8 byte order mark", async () => {
  assert.deepEqual(await loadConfig(fixture("bom.yaml")), {
    ...DEFAULTS,
    server: { ...DEFAULTS.server, port: 8080 },
  });
});

/** [fixture, line, column, path, problem] of each invalid fixture. */
const INVALID_FIXTURES: readonly [string, number, number, string, string][] = [
  [
    "unknown_nested_key.yaml",
    7,
    3,
    "server.prot",
    "unknown key (expected one of: port, hostname, aliases, maxBodyBytes, requestTimeoutMs, drainDelayMs, shutdownTimeoutMs, auth)",
  ],
  [
    "wrong_type.yaml",
    3,
    9,
    "server.port",
    'expected an integer from 0 to 65535, got "http"',
  ],
  [
    "syntax.yaml",
    4,
    1,
    "",
    "invalid YAML: flow map in block collection must be sufficiently indented and end with a }",
  ],
  [
    "not_a_mapping.yaml",
    1,
    1,
    "",
    "expected a mapping of sections, got a sequence",
  ],
  [
    "unknown_check_type.yaml",
    4,
    13,
    "health.checks[0].type",
    'expected "http", "tcp", "disk", "memory", "eventLoop" or "workers", got "redis"',
  ],
  [
    "check_unknown_key.yaml",
    10,
    7,
    "health.checks[1].port",
    "unknown key (expected one of: name, type, url, expectStatus, critical, timeoutMs, intervalMs, componentType)",
  ],
  [
    "missing_tcp_port.yaml",
    3,
    7,
    "health.checks[0].port",
    "missing required key",
  ],
  [
    "duplicate_check.yaml",
    4,
    15,
    "health.checks[1].name",
    'duplicate check name "db" (also used by health.checks[0])',
  ],
  [
    "bad_alias.yaml",
    4,
    14,
    'server.aliases["/status"]',
    'expected "/metrics", "/health", "/health/detailed", "/health/live", "/health/ready", "/system/info", "/drift/status", "/drift/update" or "/drift/reset", got "/healthz"',
  ],
  [
    "unsorted_buckets.yaml",
    5,
    7,
    "metrics.buckets[2]",
    "buckets must be strictly increasing: 0.25 follows 0.5",
  ],
  [
    "bad_label.yaml",
    4,
    5,
    'metrics.defaultLabels["team-name"]',
    'expected a label name matching ^[a-zA-Z_][a-zA-Z0-9_]*$, got "team-name"',
  ],
  [
    "bearer_without_token.yaml",
    3,
    5,
    "server.auth.token",
    "missing required key",
  ],
  [
    "bad_log_level.yaml",
    2,
    10,
    "logging.level",
    'expected "debug", "info", "warning", "error", "fatal" or "warn", got "verbose"',
  ],
  [
    "bad_url.yaml",
    5,
    12,
    "health.checks[0].url",
    'expected an http(s) URL, got "ftp://files.internal/"',
  ],
  [
    "timer_too_long.yaml",
    8,
    19,
    "health.checks[0].intervalMs",
    "expected an integer from 1 to 2147483647, got 3000000000",
  ],
  ["latin1.yaml", 4, 12, "", "invalid UTF-8 (byte 0xE9)"],
  ["bad_utf8_after_multibyte.yaml", 5, 18, "", "invalid UTF-8 (byte 0xC0)"],
  ["truncated_utf8.yaml", 3, 15, "", "invalid UTF-8 (byte 0xE2)"],
  ["bom_then_bad_utf8.yaml", 1, 5, "", "invalid UTF-8 (byte 0xFF)"],
];

Deno.test("loadConfig() names the line, column and key of each invalid fixture", async (t) => {
  for (const [name, line, column, path, problem] of INVALID_FIXTURES) {
    await t.step(name, async () => {
      const file = fixture(`invalid/${name}`);
      const error = await loadConfig(file).then(
        () => assert.fail("expected a ConfigError"),
        (error: unknown) => error,
      );
      assert.ok(error instanceof ConfigError);
      assert.equal(error.name, "ConfigError");
      assert.deepEqual(
        {
          source: error.source,
          line: error.line,
          column: error.column,
          path: error.path,
          problem: error.problem,
        },
        { source: file, line, column, path, problem },
      );
      const place = `${file}:${line}:${column}: `;
      assert.equal(
        error.message,
        path === "" ? place + problem : `${place}${path}: ${problem}`,
      );
    });
  }
});

Deno.test("parseConfig() reports each kind of problem at its node", async (t) => {
  /** [yaml, "line:column path: problem" as in the message] */
  const cases: [string, string][] = [
    [
      "kits:\n  - { kind: stream, name: q, alerts: { stale: 1 } }\n",
      "2:47: kits[0].alerts.stale: unknown key (expected one of: staleSeconds, staleFor, reconnects, reconnectsWindow, reconnectsFor)",
    ],
    [
      "kits:\n  - { kind: cache, name: a, alerts: { hitRatio: 1.5 } }\n",
      "2:49: kits[0].alerts.hitRatio: must be in (0, 1), got 1.5",
    ],
    [
      "kits:\n  - { kind: cache, name: a, alerts: { hitRatio: 0.6 } }\n  - { kind: cache, name: b }\n",
      "3:5: kits[1].alerts: the cache kits' alert options must agree (kits[0] has others): the rules are per kind",
    ],
    [
      "kits:\n  - { kind: cache, name: redis, prices: {} }\n",
      "2:41: kits[0].prices: prices apply to llm kits only",
    ],
    [
      "kits:\n  - { kind: queue, name: a }\n",
      '2:13: kits[0].kind: expected "cache", "circuit_breaker", "database", "llm", "data_quality", "jobs", "stream" or "online_learning", got "queue"',
    ],
    [
      "kits:\n  - { kind: cache, name: a }\n  - { kind: cache, name: a }\n",
      '3:26: kits[1].name: duplicate cache kit "a" (also kits[0])',
    ],
    [
      "kits:\n  - { kind: llm, name: a, prices: { m: { input: -1, output: 1 } } }\n",
      "2:49: kits[0].prices.m.input: expected a non-negative number of USD per million tokens, got -1",
    ],
    [
      "ingest:\n  statsd:\n    mappings:\n      - { match: 'api.*.requests', name: api_requests_total, labels: { endpoint: $2 } }\n",
      "4:82: ingest.statsd.mappings[0].labels.endpoint: refers to $2, but the glob has 1 capture",
    ],
    [
      "ingest:\n  statsd:\n    mappings:\n      - { match: 'api.x', name: __a }\n",
      '4:33: ingest.statsd.mappings[0].name: "__a": names starting with "__" are reserved',
    ],
    [
      "ingest:\n  push:\n    ttlSeconds: 0\n",
      "3:17: ingest.push.ttlSeconds: expected a positive number, got 0",
    ],
    [
      "alerts:\n  errorRatio: 1\n",
      "2:15: alerts.errorRatio: expected a number above 0 and at most 0.99, got 1",
    ],
    [
      "alerts:\n  latencyFor: 5 min\n",
      '2:15: alerts.latencyFor: expected a Prometheus duration such as 5m, got "5 min"',
    ],
    [
      "slos:\n  - {name: a, kind: latency, objective: 99, threshold: 0.3}\n",
      "2:56: slos[0].threshold: expected one of metrics.buckets (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), got 0.3",
    ],
    [
      "slos:\n  - {name: a, kind: latency, objective: 99}\n",
      "2:5: slos[0]: a latency objective needs threshold, in seconds",
    ],
    [
      "slos:\n  - {name: a, kind: availability, objective: 99, threshold: 1}\n",
      "2:61: slos[0].threshold: a threshold applies to latency objectives only",
    ],
    [
      "slos:\n  - {name: a b, kind: availability, objective: 99}\n",
      '2:12: slos[0].name: expected a name of letters, digits, "_", "." or "-", got "a b"',
    ],
    [
      "slos:\n  - {name: a, kind: availability, objective: 99, window: 0d}\n",
      '2:58: slos[0].window: expected a positive Prometheus duration such as 30d, got "0d"',
    ],
    [
      "slos:\n  - {name: a, kind: availability, objective: 99}\n  - {name: a, kind: availability, objective: 98}\n",
      '3:12: slos[1].name: duplicate SLO name "a" (also used by slos[0])',
    ],
    [
      "server:\n  port: 70000\n",
      "2:9: server.port: expected an integer from 0 to 65535, got 70000",
    ],
    [
      "server:\n  port: 80.5\n",
      "2:9: server.port: expected an integer from 0 to 65535, got 80.5",
    ],
    [
      "server:\n  port:\n",
      "2:3: server.port: expected an integer from 0 to 65535, got null",
    ],
    [
      "server:\n  requestTimeoutMs: 0\n",
      "2:21: server.requestTimeoutMs: expected a positive integer, got 0",
    ],
    [
      "server:\n  drainDelayMs: 60000\n",
      "2:17: server.drainDelayMs: expected at most shutdownTimeoutMs (30000), got 60000",
    ],
    [
      "server:\n  hostname: ''\n",
      '2:13: server.hostname: expected a non-empty string, got ""',
    ],
    ["server: 9464\n", "1:9: server: expected a mapping, got 9464"],
    [
      "server:\n  aliases:\n    metrics: /metrics\n",
      'server.aliases.metrics: expected a path starting with "/", got "metrics"',
    ],
    [
      "server:\n  aliases:\n    /metrics: /health\n",
      'server.aliases["/metrics"]: alias "/metrics" would hide the route of that name',
    ],
    [
      "server:\n  auth: {type: oauth}\n",
      'server.auth.type: expected "none", "bearer" or "basic", got "oauth"',
    ],
    [
      "server:\n  auth: {token: x}\n",
      "2:9: server.auth.type: missing required key",
    ],
    [
      "server:\n  auth: {type: none, token: x}\n",
      "2:22: server.auth.token: unknown key (expected one of: type)",
    ],
    [
      "server:\n  auth: {type: basic, username: 'a:b', password: x}\n",
      `2:33: server.auth.username: expected a non-empty string without ":", got "a:b"`,
    ],
    [
      "server:\n  auth: {type: basic, username: a}\n",
      "2:9: server.auth.password: missing required key",
    ],
    [
      "metrics:\n  buckets: []\n",
      "2:12: metrics.buckets: expected a non-empty sequence, got an empty sequence",
    ],
    [
      "metrics:\n  buckets: [1, .inf]\n",
      "2:16: metrics.buckets[1]: expected a finite number, got .inf",
    ],
    [
      "service:\n  version: 1.0\n",
      "2:12: service.version: expected a non-empty string, got 1.0",
    ],
    [
      "server:\n  port: 1e400\n",
      "2:9: server.port: expected an integer from 0 to 65535, got 1e400",
    ],
    [
      "server:\n  port: '9464'\n",
      '2:9: server.port: expected an integer from 0 to 65535, got "9464"',
    ],
    [
      "metrics:\n  buckets: [1, 1]\n",
      "2:16: metrics.buckets[1]: buckets must be strictly increasing: 1 follows 1",
    ],
    [
      "metrics:\n  cardinalityLimit: 0\n",
      "2:21: metrics.cardinalityLimit: expected a positive integer, got 0",
    ],
    [
      "metrics:\n  workers: -1\n",
      "2:12: metrics.workers: expected a non-negative integer, got -1",
    ],
    [
      "metrics:\n  workers: 1.5\n",
      "2:12: metrics.workers: expected a non-negative integer, got 1.5",
    ],
    [
      "metrics:\n  processMetrics: yes\n",
      '2:19: metrics.processMetrics: expected true or false, got "yes"',
    ],
    [
      "metrics:\n  defaultLabels: {__name: x}\n",
      'metrics.defaultLabels.__name: label name "__name" is reserved: names starting with "__" belong to Prometheus',
    ],
    [
      "metrics:\n  defaultLabels: {le: x}\n",
      'metrics.defaultLabels.le: label name "le" is reserved for histograms and summaries',
    ],
    [
      "metrics:\n  defaultLabels: {a: 1}\n",
      "2:22: metrics.defaultLabels.a: expected a string, got 1",
    ],
    [
      "tracing:\n  sampleRatio: 1.5\n",
      "2:16: tracing.sampleRatio: expected a number from 0 to 1, got 1.5",
    ],
    [
      "tracing:\n  endpoint: localhost:4318\n",
      'tracing.endpoint: expected an http(s) URL, got "localhost:4318"',
    ],
    [
      "errors:\n  sentryDsn: nope\n",
      `errors.sentryDsn: expected an http(s) URL or "", got "nope"`,
    ],
    [
      "errors:\n  sampleRate: -0.1\n",
      "2:15: errors.sampleRate: expected a number from 0 to 1, got -0.1",
    ],
    [
      "health:\n  checks:\n    - type: workers\n",
      "3:7: health.checks[0].name: missing required key",
    ],
    [
      "health:\n  checks:\n    - name: w\n",
      "3:7: health.checks[0].type: missing required key",
    ],
    [
      "health:\n  checks:\n    - workers\n",
      '3:7: health.checks[0]: expected a mapping, got "workers"',
    ],
    [
      "health:\n  checks: {name: w}\n",
      "2:11: health.checks: expected a sequence, got a mapping",
    ],
    [
      "health:\n  checks:\n    - {name: d, type: tcp, host: d, port: 0}\n",
      "health.checks[0].port: expected an integer from 1 to 65535, got 0",
    ],
    [
      "health:\n  checks:\n    - {name: d, type: disk, path: /, warnFreeRatio: 0.1, failFreeRatio: 0.2}\n",
      "health.checks[0].failFreeRatio: expected at most warnFreeRatio (0.1), got 0.2",
    ],
    [
      "health:\n  checks:\n    - {name: m, type: memory, warnBytes: 100, failBytes: 10}\n",
      "health.checks[0].failBytes: expected at least warnBytes (100), got 10",
    ],
    [
      "health:\n  checks:\n    - {name: e, type: eventLoop, warnMs: 2000}\n",
      "3:7: health.checks[0].failMs: expected at least warnMs (2000), got 1000",
    ],
    [
      "health:\n  checks:\n    - {name: h, type: http, url: 'http://h/', expectStatus: [200, 99]}\n",
      "health.checks[0].expectStatus[1]: expected an integer from 100 to 599, got 99",
    ],
    [
      "health:\n  checks:\n    - {name: 'db:primary', type: workers}\n",
      'health.checks[0].name: expected a non-empty name without ":", got "db:primary"',
    ],
    [
      "health:\n  checks:\n    - {name: w, type: workers, timeoutMs: 0}\n",
      "health.checks[0].timeoutMs: expected a positive integer, got 0",
    ],
    [
      "drift:\n  models:\n    - name: m\n    - name: m\n",
      '4:13: drift.models[1].name: duplicate model name "m" (also used by drift.models[0])',
    ],
    [
      "drift:\n  models:\n    - {name: m, warningLevel: 2}\n",
      "3:17: drift.models[0].warningLevel: unknown key (expected one of: name, classes, window, positiveClass, maxClasses, regression, detectors)",
    ],
    [
      "drift:\n  models:\n    - {name: m, window: 0}\n",
      "drift.models[0].window: expected a positive integer, got 0",
    ],
    [
      "drift:\n  models:\n    - {name: m, classes: [1, '1']}\n",
      'drift.models[0].classes[1]: repeats the class "1"',
    ],
    [
      "drift:\n  models:\n    - {name: m, classes: []}\n",
      "drift.models[0].classes: must hold from 2 to 1024 classes, got 0",
    ],
    [
      "drift:\n  models:\n    - {name: m, classes: [a, '']}\n",
      'drift.models[0].classes[1]: expected a non-empty string or a finite number, got ""',
    ],
    [
      "drift:\n  models:\n    - {name: m, classes: [a, b], positiveClass: c}\n",
      'drift.models[0].positiveClass: expected one of the two classes of a binary model ("a", "b"), got "c"',
    ],
    [
      "drift:\n  models:\n    - {name: m, classes: [a, b], regression: true}\n",
      "drift.models[0].classes: cannot be declared for a regression model",
    ],
    [
      "drift:\n  models:\n    - {name: m, window: 2000000}\n",
      "drift.models[0].window: expected an integer from 1 to 1000000, got 2000000",
    ],
    [
      "drift:\n  models:\n    - {name: m, maxClasses: 1}\n",
      "3:29: drift.models[0].maxClasses: expected an integer from 2 to 1024, got 1",
    ],
    [
      "drift:\n  models:\n    - {name: m, classes: [a]}\n",
      "drift.models[0].classes: must hold from 2 to 1024 classes, got 1",
    ],
    [
      "drift:\n  models:\n    - name: m\n      detectors: [{ kind: ddm }, { kind: ddm, warmStart: 9 }]\n",
      '4:19: drift.models[0].detectors[0]: repeats ddm on the "error" input',
    ],
    [
      "drift:\n  models:\n    - name: m\n      detectors:\n        - { kind: ddm, warmStart: 0 }\n",
      "5:35: drift.models[0].detectors[0].warmStart: expected an integer at least 1, got 0",
    ],
    [
      "drift:\n  models:\n    - name: m\n      detectors:\n        - { kind: page_hinkley, mode: sideways }\n",
      'drift.models[0].detectors[0].mode: expected "up", "down" or "both", got "sideways"',
    ],
    [
      "drift:\n  models:\n    - name: m\n      detectors:\n        - { kind: ddm, delta: 0.1 }\n",
      'drift.models[0].detectors[0].delta: ddm has no option "delta"; its options are warmStart, warningThreshold, driftThreshold, minStd',
    ],
    [
      "drift:\n  models:\n    - name: m\n      detectors:\n        - { kind: ddm, __proto__: 1 }\n",
      'drift.models[0].detectors[0].__proto__: ddm has no option "__proto__"; its options are warmStart, warningThreshold, driftThreshold, minStd',
    ],
    [
      "drift:\n  models:\n    - name: m\n      detectors:\n        - { kind: adwin, delta: [0.1] }\n",
      "drift.models[0].detectors[0].delta: expected a number, a string, true or false, got a sequence",
    ],
    [
      "drift:\n  models:\n    - name: m\n      detectors:\n        - { kind: kswin }\n",
      'drift.models[0].detectors[0].kind: expected "ddm", "eddm", "hddm_a", "page_hinkley" or "adwin", got "kswin"',
    ],
    [
      "drift:\n  models:\n    - name: m\n      detectors:\n        - { input: error }\n",
      "drift.models[0].detectors[0].kind: missing required key",
    ],
    [
      "drift:\n  models:\n    - name: m\n      detectors:\n        - { kind: ddm, input: confidence }\n",
      'drift.models[0].detectors[0].input: ddm takes only the "error" input (0 or 1), got "confidence"',
    ],
    [
      "drift:\n  models:\n    - name: m\n      detectors:\n        - { kind: adwin, input: residual }\n      regression: false\n",
      'drift.models[0].detectors[0].input: the "residual" input needs a regression model (regression: true)',
    ],
    [
      "drift:\n  writeToken: 'a b'\n",
      '2:15: drift.writeToken: expected a token without spaces, or "" for none, got "a b"',
    ],
    [
      "drift:\n  writeToken: 1234\n",
      'drift.writeToken: expected a token without spaces, or "" for none, got 1234',
    ],
    [
      "logs:\n  level: info\n",
      "1:1: logs: unknown key (expected one of: service, server, metrics, health, drift, logging, tracing, errors, ingest, kits, alerts, slos)",
    ],
    [
      "1: x\n",
      '1:1: ["1"]: unknown key (expected one of: service, server, metrics, health, drift, logging, tracing, errors, ingest, kits, alerts, slos)',
    ],
    [
      "server:\n  port: 1\n  port: 2\n",
      "3:3: invalid YAML: map keys must be unique",
    ],
    ["server:\n  port: *nope\n", "2:9: server.port: unknown alias *nope"],
    [
      "server:\n  port: !custom 1\n",
      "2:9: invalid YAML: unresolved tag: !custom",
    ],
    [
      "a: 1\n---\nb: 2\n",
      "2:1: invalid YAML: source contains multiple documents; please use YAML.parseAllDocuments()",
    ],
    ["hello\n", '1:1: expected a mapping of sections, got "hello"'],
  ];
  for (const [text, expected] of cases) {
    await t.step(expected, () => assertProblem(text, expected));
  }
});

/**
 * Asserts that parsing `text` fails with `expected`: the message after
 * "c.yaml:", or, without a leading "line:column: ", after the position.
 */
function assertProblem(text: string, expected: string): void {
  const error = configError(() => parseConfig(text, "c.yaml"));
  if (/^\d+:\d+: /.test(expected)) {
    assert.equal(error.message, `c.yaml:${expected}`);
  } else {
    assert.match(error.message, /^c\.yaml:\d+:\d+: /);
    assert.equal(error.message.replace(/^c\.yaml:\d+:\d+: /, ""), expected);
  }
}

/** A `metrics.buckets` list of `count` bounds: 1, 2, 3, ... */
function bucketsYaml(count: number): string {
  const bounds = Array.from({ length: count }, (_, i) => i + 1);
  return `metrics:\n  buckets: [${bounds.join(", ")}]\n`;
}

Deno.test("parseConfig() refuses, with the key and the limit, values the runtime cannot take", async (t) => {
  /** [yaml, "line:column path: problem" as in the message] */
  const cases: [string, string][] = [
    [
      "server:\n  requestTimeoutMs: 3000000000\n",
      "2:21: server.requestTimeoutMs: expected an integer from 1 to 2147483647, got 3000000000",
    ],
    [
      "server:\n  drainDelayMs: 2147483648\n",
      "2:17: server.drainDelayMs: expected an integer from 0 to 2147483647, got 2147483648",
    ],
    [
      "server:\n  shutdownTimeoutMs: 1e10\n",
      "2:22: server.shutdownTimeoutMs: expected an integer from 1 to 2147483647, got 1e10",
    ],
    [
      "metrics:\n  eventLoopIntervalMs: 2147483648\n",
      "2:24: metrics.eventLoopIntervalMs: expected an integer from 0 to 2147483647, got 2147483648",
    ],
    [
      "health:\n  checks:\n    - {name: w, type: workers, timeoutMs: 2147483648}\n",
      "health.checks[0].timeoutMs: expected an integer from 1 to 2147483647, got 2147483648",
    ],
    [
      "health:\n  checks:\n    - {name: w, type: workers, intervalMs: 3000000000}\n",
      "health.checks[0].intervalMs: expected an integer from 1 to 2147483647, got 3000000000",
    ],
    [
      "metrics:\n  workers: 65\n",
      "2:12: metrics.workers: expected an integer from 0 to 64, got 65",
    ],
    [
      bucketsYaml(MAX_BUCKETS + 1),
      "metrics.buckets[254]: at most 254 buckets, got 255",
    ],
  ];
  for (const [text, expected] of cases) {
    await t.step(expected, () => assertProblem(text, expected));
  }
  await t.step("each limit itself is accepted", () => {
    const config = parseConfig(
      [
        "server:",
        `  requestTimeoutMs: ${MAX_TIMER_MS}`,
        `  drainDelayMs: ${MAX_TIMER_MS}`,
        `  shutdownTimeoutMs: ${MAX_TIMER_MS}`,
        "metrics:",
        `  eventLoopIntervalMs: ${MAX_TIMER_MS}`,
        "  workers: 64",
        "health:",
        "  checks:",
        `    - {name: w, type: workers, timeoutMs: ${MAX_TIMER_MS}, intervalMs: ${MAX_TIMER_MS}}`,
      ].join("\n"),
      "c.yaml",
    );
    assert.equal(config.server.requestTimeoutMs, 2147483647);
    assert.equal(config.metrics.workers, 64);
    assert.equal(config.health.checks[0]?.intervalMs, 2147483647);
    const buckets = parseConfig(bucketsYaml(MAX_BUCKETS), "c.yaml");
    assert.equal(buckets.metrics.buckets.length, 254);
  });
  await t.step("what the config accepts, the registry takes", () => {
    const { metrics } = parseConfig(bucketsYaml(MAX_BUCKETS), "c.yaml");
    assert.deepEqual(validateBuckets("h", metrics.buckets), metrics.buckets);
  });
});

/** The wrong-typed replacements for a value of the kind of `value`. */
function wrongValues(value: unknown): unknown[] {
  if (typeof value === "number") return ["x", true, [1], { a: 1 }];
  if (typeof value === "string") return [7, false, [1], { a: 1 }];
  if (typeof value === "boolean") return ["yes", 1, [true], { a: 1 }];
  if (Array.isArray(value)) return [42, "x", { a: 1 }];
  return [42, "x", [1]];
}

/** Every key path of `value` with the value there, parents first. */
function* keyPaths(
  value: unknown,
  path: readonly (string | number)[] = [],
): Generator<[readonly (string | number)[], unknown]> {
  if (path.length > 0) yield [path, value];
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      yield* keyPaths(item, [...path, i]);
    }
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      yield* keyPaths(item, [...path, key]);
    }
  }
}

function formatPath(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (out, key) =>
      typeof key === "number"
        ? `${out}[${key}]`
        : /^[A-Za-z_$][\w$]*$/.test(key)
        ? out === "" ? key : `${out}.${key}`
        : `${out}[${JSON.stringify(key)}]`,
    "",
  );
}

function setAt(
  root: unknown,
  path: readonly (string | number)[],
  value: unknown,
): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let here = copy;
  for (const key of path.slice(0, -1)) {
    here = here[key] as Record<string | number, unknown>;
  }
  here[path.at(-1)!] = value;
  return copy;
}

Deno.test("parseConfig() names exactly the key path of any wrong-typed value", async (t) => {
  const production = await loadConfig(fixture("production.yaml"));
  for (
    const [name, config] of [["default", defaultConfig()], [
      "production",
      production,
    ]] as const
  ) {
    await t.step(`${name} config`, () => {
      assert.deepEqual(parseConfig(stringify(config), "c.yaml"), config);
      let cases = 0;
      for (const [path, original] of keyPaths(config)) {
        for (const wrong of wrongValues(original)) {
          // A class label may be a string or a number: neither is wrong there.
          const label = path.includes("classes") ||
            path.includes("positiveClass");
          if (label && ["string", "number"].includes(typeof wrong)) continue;
          const text = stringify(setAt(config, path, wrong));
          const error = configError(() => parseConfig(text, "c.yaml"));
          const where = `${formatPath(path)} = ${JSON.stringify(wrong)}`;
          assert.equal(error.path, formatPath(path), where);
          assert.match(error.problem, /^expected .+, got /, where);
          assert.ok(
            error.line !== undefined && error.column !== undefined,
            where,
          );
          cases++;
        }
      }
      assert.ok(cases > 100, `only ${cases} cases`);
    });
  }
});

Deno.test("parseConfig() throws nothing but ConfigError, placed inside the text", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      try {
        parseConfig(text, "fuzz.yaml");
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        if (error.line !== undefined) {
          assert.ok(
            error.line >= 1 && error.line <= text.split("\n").length + 1,
          );
        }
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("loadConfig() reports a missing file without a stack in the message", async () => {
  const path = fixture("no-such-file.yaml");
  const error = await loadConfig(path).then(
    () => assert.fail("expected a ConfigError"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof ConfigError);
  assert.equal(
    error.message,
    `${path}: cannot read the config file: no such file`,
  );
  assert.equal(error.source, path);
  assert.equal(error.path, "");
  assert.equal(error.line, undefined);
  assert.ok(error.cause instanceof Deno.errors.NotFound);
});

Deno.test("loadConfig() reports a directory as unreadable", async () => {
  const path = fixture("invalid");
  await assert.rejects(loadConfig(path), {
    name: "ConfigError",
    message: `${path}: cannot read the config file: it is a directory`,
  });
});

const canRun = (await Deno.permissions.query({ name: "run" })).state ===
  "granted";

Deno.test({
  name:
    "parseConfig() explains the env access the yaml library needs when it is missing",
  ignore: !canRun,
  async fn() {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--allow-read", "-"],
      cwd: fixture("../.."),
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(
      'import { defaultConfig } from "./src/config/mod.ts";\n' +
        "try { defaultConfig(); } catch (error) { console.log(`${error.name}: ${error.message}`); }\n",
    ));
    await writer.close();
    const { stdout, success } = await child.output();
    assert.ok(success);
    assert.equal(
      new TextDecoder().decode(stdout).trim(),
      "ConfigError: default.yaml: cannot parse YAML: the yaml library reads the environment variables LOG_TOKENS and LOG_STREAM (run with --ignore-env=LOG_TOKENS,LOG_STREAM)",
    );
  },
});
