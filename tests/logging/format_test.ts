import assert from "node:assert/strict";
import fc from "fast-check";
import {
  configure,
  getLogger,
  type LogLevel,
  type LogRecord,
  reset,
  type Sink,
} from "@logtape/logtape";
import {
  jsonFormatter,
  LOG_FIELDS,
  maskUrlSecrets,
  prettyFormatter,
  REDACTED,
  redactSecrets,
  SECRET_FIELDS,
  URL_SECRET_PATTERNS,
} from "../../src/logging/format.ts";

const SERVICE = { service: "api", environment: "test", version: "1.2.3" };

function record(
  message: readonly unknown[],
  properties: Record<string, unknown> = {},
  extra: Partial<LogRecord> = {},
): LogRecord {
  return {
    category: ["vigil", "http"],
    level: "info",
    message,
    rawMessage: typeof message[0] === "string" ? message[0] : "",
    timestamp: Date.UTC(2024, 1, 29, 23, 59, 59, 7),
    properties,
    ...extra,
  };
}

/** Asserts one JSON line ending in "\n" and returns it parsed. */
function parseLine(line: string): Record<string, unknown> {
  const parts = line.split("\n");
  assert.equal(parts.length, 2, `not one line: ${JSON.stringify(line)}`);
  assert.equal(parts[1], "");
  return JSON.parse(parts[0]!);
}

/** The pipeline as configureLogging() builds it: redact, then mask and format. */
function pipeline(): { sink: Sink; lines: string[]; received: LogRecord[] } {
  const lines: string[] = [];
  const received: LogRecord[] = [];
  const format = maskUrlSecrets(jsonFormatter(SERVICE));
  const sink = redactSecrets((r) => {
    received.push(r);
    lines.push(format(r));
  });
  return { sink, lines, received };
}

Deno.test("jsonFormatter() writes the fixed fields, the context fields, then the call's fields", () => {
  const format = jsonFormatter(SERVICE);
  const line = format(record(["Request served"], {
    status: 200,
    span_id: "s1",
    event: "http.request",
    user_id: "u1",
    trace_id: "t1",
    request_id: "r1",
    method: "GET",
  }));
  assert.ok(line.endsWith("}\n"));
  const parsed = parseLine(line);
  assert.deepEqual(Object.keys(parsed), [...LOG_FIELDS, "status", "method"]);
  assert.deepEqual(parsed, {
    timestamp: "2024-02-29T23:59:59.007Z",
    level: "info",
    logger: "vigil.http",
    message: "Request served",
    service: "api",
    environment: "test",
    version: "1.2.3",
    request_id: "r1",
    user_id: "u1",
    trace_id: "t1",
    span_id: "s1",
    event: "http.request",
    status: 200,
    method: "GET",
  });
});

Deno.test("jsonFormatter() leaves out context fields a record does not have", () => {
  const parsed = parseLine(
    jsonFormatter(SERVICE)(record(["x"], { b: 1, trace_id: "t", a: 2 })),
  );
  assert.deepEqual(Object.keys(parsed), [
    ...LOG_FIELDS.slice(0, 7),
    "trace_id",
    "b",
    "a",
  ]);
});

Deno.test("jsonFormatter() writes LogTape's level names", () => {
  const format = jsonFormatter(SERVICE);
  const levels: LogLevel[] = [
    "trace",
    "debug",
    "info",
    "warning",
    "error",
    "fatal",
  ];
  for (const level of levels) {
    assert.equal(parseLine(format(record(["x"], {}, { level }))).level, level);
  }
});

Deno.test("jsonFormatter() writes timestamps as ISO 8601 UTC with milliseconds", () => {
  const format = jsonFormatter(SERVICE);
  fc.assert(
    fc.property(
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
      (time) => {
        const parsed = parseLine(
          format(record(["x"], {}, { timestamp: time })),
        );
        assert.equal(parsed.timestamp, new Date(time).toISOString());
      },
    ),
  );
  // Consecutive records within and across seconds (the per-second cache).
  for (const time of [999, 1000, 1001, 1999, -1, -1000, -1001, 0]) {
    assert.equal(
      parseLine(format(record(["x"], {}, { timestamp: time }))).timestamp,
      new Date(time).toISOString(),
    );
  }
  // A time Date cannot hold: the line is still written.
  const parsed = parseLine(format(record(["x"], {}, { timestamp: NaN })));
  assert.match(
    String(parsed.timestamp),
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
  );
});

Deno.test("jsonFormatter() renders message values: strings as they are, others as JSON", () => {
  const parsed = parseLine(
    jsonFormatter(SERVICE)(
      record(["Got ", "text", " and ", { a: [1, 2n] }, " and ", 42, ""]),
    ),
  );
  assert.equal(parsed.message, 'Got text and {"a":[1,"2"]} and 42');
});

Deno.test("jsonFormatter() renames properties that would overwrite the line's own fields", () => {
  const parsed = parseLine(
    jsonFormatter(SERVICE)(record(["real"], {
      level: "fatal",
      message: "forged",
      timestamp: "1970",
      service: "other",
    })),
  );
  assert.equal(parsed.level, "info");
  assert.equal(parsed.message, "real");
  assert.equal(parsed.service, "api");
  assert.equal(parsed._level, "fatal");
  assert.equal(parsed._message, "forged");
  assert.equal(parsed._timestamp, "1970");
  assert.equal(parsed._service, "other");
});

Deno.test("jsonFormatter() keeps injection attempts inside one JSON line", async (t) => {
  const format = jsonFormatter(SERVICE);
  const attempts = [
    '\n{"level":"error","message":"forged"}',
    'quote " and backslash \\ and "}',
    "nul \u0000 bell \u0007 escape \u001b[2J",
    "lone \ud800 and \udfff surrogates, pair \ud83d\ude00",
    "crlf \r\n tab \t",
    "\u2028 line separator \u2029 \u0085 \u009b",
  ];
  await t.step("in the message", () => {
    for (const text of attempts) {
      const parsed = parseLine(format(record([text])));
      assert.equal(parsed.message, text);
      assert.equal(parsed.level, "info");
    }
  });
  await t.step("in values, nested values and keys", () => {
    for (const text of attempts) {
      const parsed = parseLine(format(record(["x"], {
        field: text,
        [text]: 1,
        nested: { list: [text] },
      })));
      assert.equal(parsed.field, text);
      assert.equal(parsed[text], 1);
      assert.deepEqual(parsed.nested, { list: [text] });
      assert.equal(parsed.level, "info");
    }
  });
  await t.step("for any UTF-16 string", () => {
    const unit = fc.integer({ min: 0, max: 0xffff }).map((code) =>
      String.fromCharCode(code)
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 60 }), (text) => {
        const parsed = parseLine(
          format(record([text], { [text]: text, v: { [text]: [text] } })),
        );
        assert.equal(parsed.message, text);
        assert.equal(parsed[text], text);
        assert.deepEqual(parsed.v, { [text]: [text] });
      }),
    );
  });
  await t.step("escape sequences never reach the line raw", () => {
    const line = format(
      record(["\u001b[31mred"], { v: "\u001b]0;title\u0007" }),
    );
    assert.ok(!line.includes("\u001b"));
    assert.ok(!line.includes("\u0007"));
  });
});

Deno.test("jsonFormatter() cuts long strings and messages with a marker", async (t) => {
  await t.step("at 8192 code units by default", () => {
    const long = "a".repeat(10_000);
    const parsed = parseLine(
      jsonFormatter(SERVICE)(record([long], { long, nested: { long } })),
    );
    const cut = `${"a".repeat(8192)}…[truncated 1808 chars]`;
    assert.equal(parsed.message, cut);
    assert.equal(parsed.long, cut);
    assert.deepEqual(parsed.nested, { long: cut });
  });
  await t.step("at maxFieldLength, and not at or below it", () => {
    const format = jsonFormatter({ ...SERVICE, maxFieldLength: 5 });
    const parsed = parseLine(format(record(["123456"], {
      at: "12345",
      over: "1234567",
    })));
    assert.equal(parsed.message, "12345…[truncated 1 chars]");
    assert.equal(parsed.at, "12345");
    assert.equal(parsed.over, "12345…[truncated 2 chars]");
  });
  await t.step("not between the halves of a surrogate pair", () => {
    const format = jsonFormatter({ ...SERVICE, maxFieldLength: 3 });
    const parsed = parseLine(format(record(["ab\ud83d\ude00cd"])));
    assert.equal(parsed.message, "ab…[truncated 4 chars]");
  });
  await t.step("not inside a URL's credentials", () => {
    const format = maskUrlSecrets(
      jsonFormatter({ ...SERVICE, maxFieldLength: 30 }),
    );
    const line = format(
      record(["Connecting to postgres://app:hunter2@db:5432/main"]),
    );
    assert.ok(!line.includes("hun"), line);
    assert.equal(
      parseLine(line).message,
      "Connecting to postgres…[truncated 27 chars]",
    );
  });
  await t.step(
    "refuses a maxFieldLength that is not a positive integer",
    () => {
      for (const maxFieldLength of [0, -1, 1.5, NaN, Infinity]) {
        assert.throws(
          () => jsonFormatter({ ...SERVICE, maxFieldLength }),
          RangeError,
        );
        assert.throws(
          () => prettyFormatter({ ...SERVICE, maxFieldLength }),
          RangeError,
        );
      }
    },
  );
});

Deno.test("jsonFormatter() writes cycles as [Circular] and never throws", () => {
  const object: Record<string, unknown> = { name: "a" };
  object.self = object;
  const list: unknown[] = [1];
  list.push(list);
  const shared = { x: 1 };
  const parsed = parseLine(
    jsonFormatter(SERVICE)(
      record(["cycle ", object], { object, list, pair: [shared, shared] }),
    ),
  );
  assert.deepEqual(parsed.object, { name: "a", self: "[Circular]" });
  assert.deepEqual(parsed.list, [1, "[Circular]"]);
  // A shared reference is not a cycle.
  assert.deepEqual(parsed.pair, [{ x: 1 }, { x: 1 }]);
  assert.equal(parsed.message, 'cycle {"name":"a","self":"[Circular]"}');
});

Deno.test("jsonFormatter() writes BigInts as strings of digits", () => {
  const parsed = parseLine(
    jsonFormatter(SERVICE)(record(["n=", 2n ** 70n], {
      big: 12345678901234567890n,
      negative: -5n,
      nested: { list: [1n] },
      typed: new BigInt64Array([-3n]),
    })),
  );
  assert.equal(parsed.message, "n=1180591620717411303424");
  assert.equal(parsed.big, "12345678901234567890");
  assert.equal(parsed.negative, "-5");
  assert.deepEqual(parsed.nested, { list: ["1"] });
  assert.deepEqual(parsed.typed, ["-3"]);
});

Deno.test("jsonFormatter() writes errors as name, message and stack", () => {
  const error = new RangeError("bad\nvalue", { cause: new Error("root") });
  Object.assign(error, { code: "E_RANGE", config: { password: "p" } });
  const parsed = parseLine(jsonFormatter(SERVICE)(record(["x"], { error })));
  const written = parsed.error as Record<string, unknown>;
  assert.deepEqual(Object.keys(written), [
    "name",
    "message",
    "stack",
    "code",
    "cause",
  ]);
  assert.equal(written.name, "RangeError");
  assert.equal(written.message, "bad\nvalue");
  assert.equal(written.stack, error.stack);
  assert.equal(written.code, "E_RANGE");
  assert.deepEqual(
    Object.keys(written.cause as object),
    ["name", "message", "stack"],
  );
  // Other objects on an error are not written: redaction does not see them.
  const withObjectCause = new Error("x", { cause: { token: "secret" } });
  const line = jsonFormatter(SERVICE)(record(["x"], { e: withObjectCause }));
  assert.ok(!line.includes("secret"));
  assert.ok(!line.includes("config"));
});

Deno.test("jsonFormatter() writes other values sensibly", () => {
  let deep: Record<string, unknown> = { bottom: true };
  for (let i = 0; i < 15; i++) deep = { d: deep };
  const parsed = parseLine(
    jsonFormatter(SERVICE)(record(["x"], {
      fn: function named() {},
      arrow: () => {},
      symbol: Symbol("s"),
      missing: undefined,
      nan: NaN,
      infinity: -Infinity,
      nil: null,
      bool: false,
      sparse: [undefined, , 1], // eslint-disable-line no-sparse-arrays
      map: new Map<unknown, unknown>([["a", 1], [true, { b: 2 }]]),
      set: new Set(["x", 2]),
      date: new Date(0),
      invalidDate: new Date(NaN),
      bytes: new Uint8Array([1, 2, 3]),
      floats: new Float64Array([0.5]),
      view: new DataView(new ArrayBuffer(4)),
      buffer: new ArrayBuffer(16),
      regexp: /a+/gi,
      url: new URL("https://example.com/a"),
      promise: Promise.resolve(1),
      weak: new WeakMap(),
      instance: new (class Point {
        constructor(readonly x = 1, readonly y = 2) {}
      })(),
      nullProto: Object.assign(Object.create(null), { a: 1 }),
      throwing: Object.defineProperty({}, "boom", {
        enumerable: true,
        get() {
          throw new Error("getter failed");
        },
      }),
      deep,
    })),
  );
  assert.equal(parsed.fn, "[Function named]");
  assert.equal(parsed.arrow, "[Function arrow]");
  assert.equal(parsed.symbol, "Symbol(s)");
  assert.ok(!("missing" in parsed));
  assert.equal(parsed.nan, "NaN");
  assert.equal(parsed.infinity, "-Infinity");
  assert.equal(parsed.nil, null);
  assert.equal(parsed.bool, false);
  assert.deepEqual(parsed.sparse, [null, null, 1]);
  assert.deepEqual(parsed.map, { a: 1, true: { b: 2 } });
  assert.deepEqual(parsed.set, ["x", 2]);
  assert.equal(parsed.date, "1970-01-01T00:00:00.000Z");
  assert.equal(parsed.invalidDate, "Invalid Date");
  assert.deepEqual(parsed.bytes, [1, 2, 3]);
  assert.deepEqual(parsed.floats, [0.5]);
  assert.equal(parsed.view, "[DataView 4 bytes]");
  assert.equal(parsed.buffer, "[ArrayBuffer 16 bytes]");
  assert.equal(parsed.regexp, "/a+/gi");
  assert.equal(parsed.url, "https://example.com/a");
  assert.equal(parsed.promise, "[Promise]");
  assert.equal(parsed.weak, "[WeakMap]");
  assert.deepEqual(parsed.instance, { x: 1, y: 2 });
  assert.deepEqual(parsed.nullProto, { a: 1 });
  assert.equal(parsed.throwing, "[Unserializable: getter failed]");
  let level = parsed.deep as Record<string, unknown>;
  for (let i = 0; i < 9; i++) level = level.d as Record<string, unknown>;
  assert.deepEqual(level, { d: "[Truncated: deeper than 10 levels]" });
});

Deno.test("jsonFormatter() bounds the entries it writes", () => {
  const big = Array.from({ length: 5000 }, (_, i) => i);
  const wide = Object.fromEntries(big.map((i) => [`k${i}`, i]));
  const parsed = parseLine(
    jsonFormatter(SERVICE)(record(["x"], { big, wide })),
  );
  const list = parsed.big as unknown[];
  assert.equal(list.length, 1001);
  assert.equal(list[1000], "[Truncated: 4000 more items]");
  const keys = Object.keys(parsed.wide as object);
  assert.equal(keys.length, 1001);
  assert.equal(
    (parsed.wide as Record<string, unknown>)["…"],
    "[Truncated: 4000 more keys]",
  );
  // Across a record too: ten thousand entries in all.
  const many = parseLine(
    jsonFormatter(SERVICE)(record(["x"], {
      a: Array.from({ length: 20 }, () => big),
    })),
  );
  const written = (many.a as unknown[][]).flat().filter((v) =>
    typeof v === "number"
  );
  assert.ok(written.length <= 10_000, `${written.length}`);
});

Deno.test("SECRET_FIELDS matches the listed keys whole, in any case and spelling", () => {
  const secret = (key: string) => SECRET_FIELDS.some((re) => re.test(key));
  for (
    const key of [
      "authorization",
      "Authorization",
      "Proxy-Authorization",
      "cookie",
      "Cookie",
      "set-cookie",
      "Set-Cookie",
      "set_cookie",
      "password",
      "PASSWORD",
      "db_password",
      "passwd",
      "secret",
      "client_secret",
      "token",
      "access_token",
      "accessToken",
      "refresh_token",
      "refresh-token",
      "api_key",
      "API_KEY",
      "api-key",
      "X-Api-Key",
      "apikey",
      "apiKey",
      "credentials",
      "credential",
      "private_key",
      "privateKey",
      "github.token",
    ]
  ) assert.ok(secret(key), key);
  for (
    const key of [
      "tokens",
      "token_count",
      "passwordHint",
      "cookies_enabled",
      "request_id",
      "user_id",
      "trace_id",
      "span_id",
      "event",
      "key",
      "monkey",
      "author",
      "secretary",
    ]
  ) assert.ok(!secret(key), key);
});

Deno.test("URL_SECRET_PATTERNS mask credentials and secret query parameters", () => {
  const mask = (text: string) => {
    for (const { pattern, replacement } of URL_SECRET_PATTERNS) {
      text = typeof replacement === "string"
        ? text.replaceAll(pattern, replacement)
        : text.replaceAll(pattern, replacement);
    }
    return text;
  };
  const cases: [string, string][] = [
    ["https://user:pass@db:5432", "https://[REDACTED]@db:5432"],
    ["postgres://app:p@ss@db/main", "postgres://[REDACTED]@db/main"],
    ["redis://:secret@cache:6379/0", "redis://[REDACTED]@cache:6379/0"],
    ["https://ghp_abc@github.com/x", "https://[REDACTED]@github.com/x"],
    ["/a?token=abc&x=1", "/a?token=[REDACTED]&x=1"],
    ["/a?x=1&Access_Token=abc#f", "/a?x=1&Access_Token=[REDACTED]#f"],
    [
      "/a?refresh_token=r&api_key=k&apikey=k&password=p&secret=s&key=k&sig=s&signature=s",
      "/a?refresh_token=[REDACTED]&api_key=[REDACTED]&apikey=[REDACTED]&password=[REDACTED]&secret=[REDACTED]&key=[REDACTED]&sig=[REDACTED]&signature=[REDACTED]",
    ],
    ["/a?monkey=1&keys=2&token_type=3", "/a?monkey=1&keys=2&token_type=3"],
    ["https://example.com/a@b", "https://example.com/a@b"],
    ["mail me at a@b.c", "mail me at a@b.c"],
  ];
  for (const [input, output] of cases) assert.equal(mask(input), output);
  for (const { pattern } of URL_SECRET_PATTERNS) assert.ok(pattern.global);
});

Deno.test("redactSecrets() and maskUrlSecrets() replace planted secrets before the sink sees them", async (t) => {
  const { sink, lines, received } = pipeline();
  const properties = {
    password: "pw-top",
    headers: {
      Authorization: "Bearer tok-header",
      "X-Api-Key": "key-header",
      "Set-Cookie": ["sid=cookie-1", "csrf=cookie-2"],
      accept: "*/*",
    },
    config: { database: { API_KEY: "key-nested", host: "db" } },
    attempts: [{ token: "tok-array" }, { ok: true }, [{ secret: "sec-deep" }]],
    dsn: "https://user:pass-field@db:5432/main",
    callback: "https://api.example.com/cb?token=abc-field&x=1",
    token_count: 3,
  };
  const original = structuredClone(properties);
  sink(record([
    "Connecting to https://user:pass-message@db:5432 with ?token=abc-message&x=1",
  ], properties));
  const planted = [
    "pw-top",
    "tok-header",
    "key-header",
    "cookie-1",
    "cookie-2",
    "key-nested",
    "tok-array",
    "sec-deep",
    "pass-field",
    "abc-field",
    "pass-message",
    "abc-message",
  ];
  await t.step("the formatted line holds none of them", () => {
    assert.equal(lines.length, 1);
    for (const secret of planted) {
      assert.ok(!lines[0]!.includes(secret), secret);
    }
    const parsed = parseLine(lines[0]!);
    assert.equal(
      parsed.message,
      "Connecting to https://[REDACTED]@db:5432 with ?token=[REDACTED]&x=1",
    );
    assert.equal(parsed.dsn, "https://[REDACTED]@db:5432/main");
    assert.equal(
      parsed.callback,
      "https://api.example.com/cb?token=[REDACTED]&x=1",
    );
    assert.equal(parsed.token_count, 3);
  });
  await t.step("the wrapped sink receives the fields redacted", () => {
    assert.equal(received.length, 1);
    assert.deepEqual(received[0]!.properties, {
      ...original,
      password: REDACTED,
      headers: {
        Authorization: REDACTED,
        "X-Api-Key": REDACTED,
        "Set-Cookie": REDACTED,
        accept: "*/*",
      },
      config: { database: { API_KEY: REDACTED, host: "db" } },
      attempts: [{ token: REDACTED }, { ok: true }, [{ secret: REDACTED }]],
    });
  });
  await t.step("the caller's objects are left as they were", () => {
    assert.deepEqual(properties, original);
  });
});

Deno.test("redactSecrets() passes a record without secrets on as it is", () => {
  const received: LogRecord[] = [];
  const sink = redactSecrets((r) => received.push(r));
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const records = [
    record(["plain"], { request_id: "r", status: 200 }),
    record(["nested"], { req: { headers: { accept: "*/*" } }, list: [[1]] }),
    record(["cyclic"], { cyclic }),
  ];
  for (const r of records) sink(r);
  assert.equal(received.length, 3);
  for (let i = 0; i < 3; i++) assert.equal(received[i], records[i]);
});

Deno.test("redactSecrets() redacts cyclic records, deep records and message values", () => {
  const { sink, lines, received } = pipeline();
  const cyclic: Record<string, unknown> = { password: "cyc-secret" };
  cyclic.self = cyclic;
  sink(record(["x"], { cyclic }));
  let deep: Record<string, unknown> = { token: "deep-secret" };
  for (let i = 0; i < 25; i++) deep = { d: deep };
  sink(record(["x"], { deep }));
  // A message with a placeholder naming a secret key, as LogTape builds it.
  sink(record(["Login with ", "msg-secret", ""], { password: "msg-secret" }, {
    rawMessage: "Login with {password}",
  }));
  assert.equal(lines.length, 3);
  for (const line of lines) {
    parseLine(line);
    assert.ok(!/cyc-secret|deep-secret|msg-secret/.test(line), line);
  }
  assert.equal(
    (received[0]!.properties.cyclic as Record<string, unknown>).password,
    REDACTED,
  );
  assert.equal(parseLine(lines[2]!).message, `Login with ${REDACTED}`);
});

Deno.test("redactSecrets() passes on drain() and disposal", async () => {
  const calls: string[] = [];
  const inner = Object.assign((_: LogRecord) => {}, {
    drain: () => {
      calls.push("drain");
      return Promise.resolve();
    },
    [Symbol.dispose]: () => calls.push("dispose"),
    [Symbol.asyncDispose]: () => {
      calls.push("asyncDispose");
      return Promise.resolve();
    },
  });
  const sink = redactSecrets(inner) as
    & Sink
    & { drain(): Promise<void> }
    & Disposable
    & AsyncDisposable;
  await sink.drain();
  sink[Symbol.dispose]();
  await sink[Symbol.asyncDispose]();
  assert.deepEqual(calls, ["drain", "dispose", "asyncDispose"]);
  const bare = redactSecrets(() => {}) as Sink & Partial<Disposable>;
  assert.equal(bare[Symbol.dispose], undefined);
});

Deno.test("the formats work behind LogTape's own loggers", async () => {
  const { sink, lines } = pipeline();
  await configure({
    sinks: { test: sink },
    loggers: [
      {
        category: ["vigil-format-test"],
        sinks: ["test"],
        lowestLevel: "debug",
      },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
  });
  try {
    getLogger(["vigil-format-test", "db"]).warn(
      "Retrying https://u:pw-logtape@db/x",
      {
        request_id: "r9",
        attempt: 2,
        headers: { authorization: "Bearer hdr-logtape" },
      },
    );
  } finally {
    await reset();
  }
  assert.equal(lines.length, 1);
  const parsed = parseLine(lines[0]!);
  assert.equal(parsed.level, "warning");
  assert.equal(parsed.logger, "vigil-format-test.db");
  assert.equal(parsed.message, "Retrying https://[REDACTED]@db/x");
  assert.equal(parsed.request_id, "r9");
  assert.deepEqual(parsed.headers, { authorization: REDACTED });
  assert.ok(!/pw-logtape|hdr-logtape/.test(lines[0]!));
});

Deno.test("prettyFormatter() writes the level and message on one line", async (t) => {
  const r = record(["Slow\nrequest \u001b[2J"], {
    request_id: "r1",
    duration_ms: 1234,
    "odd key": "a b",
  }, { level: "warning" });
  await t.step("without colours", () => {
    const line = prettyFormatter({ ...SERVICE, colors: false })(r);
    assert.ok(!line.includes("\u001b"), JSON.stringify(line));
    assert.equal(line.split("\n").length, 2);
    assert.match(line, /WARNING vigil\.http: Slow\\nrequest /);
    assert.ok(
      line.endsWith(' request_id="r1" duration_ms=1234 "odd key"="a b"\n'),
      line,
    );
  });
  await t.step("with colours by default", () => {
    const line = prettyFormatter(SERVICE)(r);
    assert.ok(line.includes("\u001b[33m"), JSON.stringify(line)); // yellow
    assert.ok(line.includes("WARNING"));
    assert.ok(line.includes("Slow"));
    // The message's own escape sequence is neutralised.
    assert.ok(!line.includes("\u001b[2J"));
    assert.equal(line.split("\n").length, 2);
  });
  await t.step("with URL secrets masked", () => {
    const line = maskUrlSecrets(prettyFormatter({ ...SERVICE, colors: false }))(
      record(["to https://u:pw@h/x?token=t1&y=2"]),
    );
    assert.ok(line.includes("https://[REDACTED]@h/x?token=[REDACTED]&y=2"));
  });
});
