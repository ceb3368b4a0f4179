import assert from "node:assert/strict";
import fc from "fast-check";
import {
  escapeMetricName,
  sanitizeLabelName,
  StatsdParser,
  type StatsdParserOptions,
  type StatsdRejectReason,
} from "../../src/ingest/statsd.ts";

interface Parsed {
  name: string;
  type: string;
  values: number[];
  member: string;
  delta: boolean;
  sampleRate: number;
  tags: Record<string, string>;
  droppedTags: number;
}

/** Parses a packet and copies every record, since the parser reuses one. */
function collect(packet: string | Uint8Array, options?: StatsdParserOptions) {
  const accepted: Parsed[] = [];
  const rejected: [StatsdRejectReason, string][] = [];
  const parser = new StatsdParser({
    line(line) {
      accepted.push({
        name: line.name,
        type: line.type,
        values: [...line.values],
        member: line.member,
        delta: line.delta,
        sampleRate: line.sampleRate,
        tags: Object.fromEntries(
          line.tagNames.map((name, i) => [name, line.tagValues[i]!]),
        ),
        droppedTags: line.droppedTags,
      });
    },
    reject(reason, text) {
      rejected.push([reason, text]);
    },
  }, options);
  const count = parser.parse(packet);
  return { accepted, rejected, count };
}

function one(line: string, options?: StatsdParserOptions): Parsed {
  const { accepted, rejected } = collect(line, options);
  assert.deepEqual(rejected, [], `${line} was rejected`);
  assert.equal(accepted.length, 1);
  return accepted[0]!;
}

function reason(line: string, options?: StatsdParserOptions): string {
  const { accepted, rejected } = collect(line, options);
  assert.deepEqual(accepted, [], `${line} was accepted`);
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0]![1], line);
  return rejected[0]![0];
}

Deno.test("StatsdParser reads every type", async (t) => {
  await t.step("counter, with and without a sample rate", () => {
    assert.deepEqual(one("hits:3|c").values, [3]);
    const sampled = one("hits:1|c|@0.1");
    assert.equal(sampled.sampleRate, 0.1);
    assert.deepEqual(sampled.values, [10]);
    assert.deepEqual(one("hits:2.5|c|@1").values, [2.5]);
  });
  await t.step("gauge: absolute and the StatsD spec's deltas", () => {
    const absolute = one("gaugor:333|g");
    assert.deepEqual([absolute.values, absolute.delta], [[333], false]);
    const down = one("gaugor:-10|g");
    assert.deepEqual([down.values, down.delta], [[-10], true]);
    const up = one("gaugor:+4|g");
    assert.deepEqual([up.values, up.delta], [[4], true]);
    // A gauge ignores the sample rate, as statsd_exporter does.
    assert.deepEqual(one("gaugor:5|g|@0.5").values, [5]);
  });
  await t.step("timer in milliseconds, histogram and distribution", () => {
    const timer = one("glork:320|ms|@0.1");
    assert.deepEqual([timer.type, timer.values, timer.sampleRate], [
      "ms",
      [320],
      0.1,
    ]);
    assert.deepEqual(one("size:-1.5e3|h").values, [-1500]);
    assert.equal(one("size:7|d").type, "d");
  });
  await t.step("set members are tokens", () => {
    const set = one("uniques:user-42|s");
    assert.deepEqual([set.type, set.member, set.values], ["s", "user-42", []]);
  });
  await t.step("DogStatsD 1.1 packed values", () => {
    assert.deepEqual(one("rt:1:2:3|ms").values, [1, 2, 3]);
    assert.deepEqual(one("rt:1:2.5|h|#a:b").values, [1, 2.5]);
    assert.equal(reason("hits:1:2|c"), "bad_type");
    assert.equal(reason("g:1:2|g"), "bad_type");
  });
  await t.step("container id and timestamp fields are ignored", () => {
    const line = one("hits:1|c|#env:prod|c:abc123|T1656581400");
    assert.deepEqual(line.tags, { env: "prod" });
    assert.deepEqual(line.values, [1]);
  });
});

Deno.test("StatsdParser reads DogStatsD tags", async (t) => {
  await t.step("key:value pairs become sanitised labels", () => {
    const line = one("page.views:1|c|#http.method:GET,route:/a:b,#host:h1");
    assert.deepEqual(line.tags, {
      http_method: "GET",
      route: "/a:b",
      host: "h1",
    });
    assert.equal(line.name, "page.views");
  });
  await t.step("a repeated key keeps the last value", () => {
    assert.deepEqual(one("a:1|c|#k:1,k:2").tags, { k: "2" });
  });
  await t.step("several tag sections merge", () => {
    assert.deepEqual(one("a:1|c|#x:1|#y:2").tags, { x: "1", y: "2" });
  });
  await t.step("an empty section and a trailing comma add nothing", () => {
    assert.deepEqual(one("a:1|c|#").tags, {});
    assert.deepEqual(one("a:1|c|#k:v,").tags, { k: "v" });
  });
  await t.step("malformed tags are dropped and counted by default", () => {
    const line = one("a:1|c|#novalue,:v,k:,le:1,ok:1,,__x:2");
    assert.deepEqual(line.tags, { ok: "1" });
    assert.equal(line.droppedTags, 6);
  });
  await t.step("or reject the line with badTags: reject", () => {
    assert.equal(reason("a:1|c|#novalue", { badTags: "reject" }), "bad_tag");
    assert.deepEqual(one("a:1|c|#k:v", { badTags: "reject" }).tags, {
      k: "v",
    });
  });
});

Deno.test("StatsdParser rejects each malformed line with its reason", () => {
  const cases: [string, StatsdRejectReason][] = [
    ["no_colon", "malformed"],
    [":1|c", "malformed"],
    ["name:1", "malformed"],
    ["name:1|", "malformed"],
    ["name:1|c|", "malformed"],
    ["name:1|c||#a:b", "malformed"],
    ["name:1|c|x", "malformed"],
    ["name:1|c|c:", "malformed"],
    ["name:1|c|T", "malformed"],
    ["name:1|c|T12a", "malformed"],
    ["name:abc|c", "bad_value"],
    ["name:|c", "bad_value"],
    ["name:0x10|c", "bad_value"],
    ["name:1e999|g", "bad_value"],
    ["name:NaN|g", "bad_value"],
    ["name:Infinity|h", "bad_value"],
    ["name:-1|c", "bad_value"],
    ["name:-1|ms", "bad_value"],
    ["name: 1|c", "bad_value"],
    ["name:1::2|ms", "bad_value"],
    ["name:|s", "bad_value"],
    ["name:1|x", "bad_type"],
    ["name:1|cc", "bad_type"],
    ["name:1|c |@0.5", "bad_type"],
    ["name:1|c|@0", "bad_sample_rate"],
    ["name:1|c|@1.5", "bad_sample_rate"],
    ["name:1|c|@-0.5", "bad_sample_rate"],
    ["name:1|c|@abc", "bad_sample_rate"],
    ["name:1|c|@", "bad_sample_rate"],
    ["name:1|c|@0.5|@0.5", "bad_sample_rate"],
  ];
  for (const [line, expected] of cases) {
    assert.equal(reason(line), expected, line);
  }
});

Deno.test("StatsdParser rejects a line over maxLineLength", () => {
  const long = "a".repeat(20) + ":1|c";
  assert.equal(reason(long, { maxLineLength: 10 }), "too_long");
  assert.equal(one(long, { maxLineLength: long.length }).name, "a".repeat(20));
});

Deno.test("StatsdParser splits packets into lines", () => {
  const { accepted, rejected, count } = collect(
    "a:1|c\r\n\n\nb:2|g\nbad\r\nc:3|ms\n",
  );
  assert.equal(count, 4);
  assert.deepEqual(accepted.map((line) => line.name), ["a", "b", "c"]);
  assert.deepEqual(rejected, [["malformed", "bad"]]);
});

Deno.test("StatsdParser rejects a line of invalid UTF-8 only", () => {
  const bytes = new Uint8Array([
    ...new TextEncoder().encode("ok:1|c\nbad"),
    0xff,
    ...new TextEncoder().encode(":1|c\nünï:2|c"),
  ]);
  const { accepted, rejected } = collect(bytes);
  assert.deepEqual(accepted.map((line) => line.name), ["ok", "ünï"]);
  assert.deepEqual(rejected.map(([reason]) => reason), ["malformed"]);
});

Deno.test("StatsdParser checks its options", () => {
  const sink = { line() {}, reject() {} };
  assert.throws(
    () => new StatsdParser(sink, { maxLineLength: 0 }),
    RangeError,
  );
  assert.throws(
    () =>
      new StatsdParser(sink, {
        badTags: "keep" as unknown as "drop",
      }),
    /badTags must be "drop" or "reject", got "keep"/,
  );
});

Deno.test("escapeMetricName() follows statsd_exporter's rule", () => {
  const cases: [string, string][] = [
    ["", ""],
    ["valid_name", "valid_name"],
    ["api.requests.total", "api_requests_total"],
    ["0starts_with_digit", "_0starts_with_digit"],
    ["with-dash", "with_dash"],
    ["with--double---dashes", "with_double_dashes"],
    ["a.-b", "a__b"],
    ["colon:name", "colon_name"],
    ["ünïcödé", "_n_c_d_"],
    ["emoji😀x", "emoji_x"],
    ["sp ace", "sp_ace"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(escapeMetricName(input), expected, input);
  }
  assert.equal(sanitizeLabelName("quantile"), undefined);
  assert.equal(sanitizeLabelName("__reserved"), undefined);
  assert.equal(sanitizeLabelName("9lives"), "_9lives");
});

Deno.test("escapeMetricName() always yields a name of [a-zA-Z0-9_] not starting with a digit", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (name) => {
      const escaped = escapeMetricName(name);
      if (name === "") return escaped === "";
      return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(escaped) &&
        escapeMetricName(escaped) === escaped;
    }),
  );
});

/** Non-empty lines of a packet, counted on the bytes, not the parser's text. */
function countLines(bytes: Uint8Array): number {
  let count = 0;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 10) {
      let end = i;
      if (end > start && bytes[end - 1] === 13) end--;
      if (end > start) count++;
      start = i + 1;
    }
  }
  return count;
}

const statsdish = fc.array(
  fc.oneof(
    fc.constantFrom(
      "a",
      ".",
      ":",
      "|",
      "#",
      ",",
      "@",
      "c",
      "g",
      "ms",
      "h",
      "d",
      "s",
      "T",
      "1",
      "0.5",
      "-",
      "+",
      "e",
      "\n",
      "\r",
      "é",
    ),
    fc.string({ maxLength: 3 }),
  ),
  { maxLength: 40 },
).map((parts) => parts.join(""));

Deno.test("StatsdParser never throws and settles every non-empty line exactly once", () => {
  const encoder = new TextEncoder();
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        statsdish.map((text) => encoder.encode(text)),
      ),
      fc.boolean(),
      (bytes, rejectTags) => {
        let accepted = 0;
        let rejected = 0;
        const parser = new StatsdParser({
          line() {
            accepted++;
          },
          reject() {
            rejected++;
          },
        }, { maxLineLength: 64, badTags: rejectTags ? "reject" : "drop" });
        const count = parser.parse(bytes);
        const expected = countLines(bytes);
        assert.equal(count, expected);
        assert.equal(accepted + rejected, expected);
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("StatsdParser accepts every well-formed generated line with its values", () => {
  const name = fc.stringMatching(/^[a-z][a-z0-9_.]{0,15}$/);
  const tag = fc.tuple(
    fc.stringMatching(/^[a-z][a-z0-9_]{1,8}$/),
    fc.stringMatching(/^[a-zA-Z0-9_.\/:-]{1,8}$/),
  );
  fc.assert(
    fc.property(
      name,
      fc.constantFrom("c", "g", "ms", "h", "d"),
      fc.array(fc.integer({ min: 0, max: 1_000_000 }), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.array(tag, { maxLength: 4 }),
      (metric, type, values, tags) => {
        const used = type === "ms" || type === "h" || type === "d"
          ? values
          : values.slice(0, 1);
        const tagText = tags.length === 0
          ? ""
          : "|#" + tags.map(([k, v]) => `${k}:${v}`).join(",");
        const line = `${metric}:${used.join(":")}|${type}${tagText}`;
        const parsed = one(line);
        assert.equal(parsed.name, metric);
        assert.deepEqual(parsed.values, used);
        assert.deepEqual(parsed.tags, Object.fromEntries(tags));
      },
    ),
  );
});
