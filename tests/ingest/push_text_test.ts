import assert from "node:assert/strict";
import fc from "fast-check";
import {
  parsePushText,
  type PushFamily,
  type PushMetricType,
  PushTextError,
} from "../../src/ingest/push_text.ts";
import {
  escapeHelp,
  escapeLabelValue,
  formatValue,
} from "../../src/base/_text.ts";

function error(text: string, options = {}): PushTextError {
  try {
    parsePushText(text, options);
  } catch (caught) {
    assert.ok(caught instanceof PushTextError, String(caught));
    return caught;
  }
  assert.fail(`parsed without an error: ${JSON.stringify(text)}`);
}

Deno.test("parsePushText() reads every type and groups samples", () => {
  const families = parsePushText([
    "# A comment",
    "# HELP requests_total Requests with a \\\\ and a\\nnewline and \\t kept.",
    "# TYPE requests_total counter",
    'requests_total{method="GET",code="200"} 1027',
    '  requests_total { method = "POST" , code="400", } 3  ',
    "# TYPE temperature GAUGE",
    "temperature -3.5e1",
    "# TYPE rpc_seconds summary",
    'rpc_seconds{quantile="0.5"} 0.05',
    'rpc_seconds{quantile="0.99"} NaN',
    "rpc_seconds_sum 17.5",
    "rpc_seconds_count 300",
    "# TYPE latency_seconds histogram",
    'latency_seconds_bucket{le="0.1"} 5',
    'latency_seconds_bucket{le="+Inf"} 8',
    "latency_seconds_sum\t2.5",
    "latency_seconds_count 8",
    "untyped_thing +Inf",
    'escaped{v="a\\\\b\\"c\\nd"} -Inf',
    "jobs_created 1",
    "",
  ].join("\n"));
  assert.deepEqual(
    families.map((family) => [family.name, family.type, family.samples.length]),
    [
      ["requests_total", "counter", 2],
      ["temperature", "gauge", 1],
      ["rpc_seconds", "summary", 4],
      ["latency_seconds", "histogram", 4],
      ["untyped_thing", "untyped", 1],
      ["escaped", "untyped", 1],
      ["jobs_created", "untyped", 1],
    ],
  );
  const [requests, temperature, rpc, latency, untyped, escaped] = families;
  assert.equal(
    requests!.help,
    "Requests with a \\ and a\nnewline and \\t kept.",
  );
  assert.deepEqual(requests!.samples[1], {
    name: "requests_total",
    labelNames: ["method", "code"],
    labelValues: ["POST", "400"],
    value: 3,
  });
  assert.equal(temperature!.samples[0]!.value, -35);
  assert.equal(temperature!.help, undefined);
  assert.ok(Number.isNaN(rpc!.samples[1]!.value));
  assert.deepEqual(latency!.samples.map((sample) => sample.name), [
    "latency_seconds_bucket",
    "latency_seconds_bucket",
    "latency_seconds_sum",
    "latency_seconds_count",
  ]);
  assert.equal(untyped!.samples[0]!.value, Infinity);
  assert.deepEqual(escaped!.samples[0]!.labelValues, ['a\\b"c\nd']);
  assert.equal(escaped!.samples[0]!.value, -Infinity);
});

Deno.test("parsePushText() accepts a body without its last newline and an empty one", () => {
  assert.equal(parsePushText("up 1")[0]!.samples[0]!.value, 1);
  assert.deepEqual(parsePushText(""), []);
  assert.deepEqual(parsePushText("# TYPE lonely counter\n"), []);
});

Deno.test("parsePushText() names the line and the reason of each error", () => {
  const cases: [string, number, string][] = [
    ["up{job=x} 1", 1, "label value is not quoted"],
    ['ok 1\nup{job="x} 1', 2, 'label value of "job" is not terminated'],
    [
      'up{job="a\\x"} 1',
      1,
      'invalid escape sequence "\\x" in label value of "job"',
    ],
    ["up{job} 1", 1, 'expected "=" after label name "job"'],
    [
      'up{job="a" x="b"} 1',
      1,
      'expected "," or "}" after the value of label "job"',
    ],
    ['up{job="a"', 1, "label set is not closed"],
    ['up{1a="a"} 1', 1, 'invalid label name "1a" for metric "up"'],
    ['up{="a"} 1', 1, 'invalid label name for metric "up"'],
    [
      'up{__name__="a"} 1',
      1,
      'label name "__name__" is reserved: names starting with "__" are for internal use',
    ],
    // Refused at parse, as Pushgateway refuses it, not dropped at render.
    [
      'ok 1\nup{a="1",__meta="x"} 1',
      2,
      'label name "__meta" is reserved: names starting with "__" are for internal use',
    ],
    ['up{a="1",a="2"} 1', 1, 'label "a" is given twice for metric "up"'],
    ["up", 1, 'metric "up" has no value'],
    ["up abc", 1, 'invalid value "abc" for metric "up"'],
    ["up 0x1p3", 1, 'invalid value "0x1p3" for metric "up"'],
    ["up 1_000", 1, 'invalid value "1_000" for metric "up"'],
    ["up 1e999", 1, 'invalid value "1e999" for metric "up"'],
    ["up 1\r\n", 1, 'invalid value "1\r" for metric "up"'],
    [
      "up 1 1700000000000",
      1,
      'metric "up" has a timestamp: pushed samples must not carry timestamps',
    ],
    ["up 1 x", 1, 'unexpected text "x" after the value of metric "up"'],
    [
      "1up 1",
      1,
      'invalid metric name "1up": a metric name must match ^[a-zA-Z_:][a-zA-Z0-9_:]*$',
    ],
    ['{a="1"} 1', 1, "invalid metric name"],
    ["up-time 1", 1, 'invalid metric name "up-time 1"'],
    [
      "__up 1",
      1,
      'invalid metric name "__up": names starting with "__" are reserved',
    ],
    [
      "# TYPE up counter\n# TYPE up counter",
      2,
      'second TYPE line for metric "up"',
    ],
    ["# HELP up a\n# HELP up b", 2, 'second HELP line for metric "up"'],
    [
      "up 1\n# TYPE up counter",
      2,
      'TYPE line for metric "up" after its samples',
    ],
    ["# TYPE up countr", 1, 'unknown metric type "countr" for metric "up"'],
    ["# TYPE up counter x", 1, 'unexpected text after the type of "up"'],
    ["# HELP up-x a", 1, "invalid metric name in HELP line"],
    [
      'a 1\nb 1\na{x="1"} 2',
      3,
      'the lines of metric "a" must be one group, but another metric\'s lines come between them',
    ],
    [
      "a 1\nb 1\n# HELP a late",
      3,
      'the lines of metric "a" must be one group, but another metric\'s lines come between them',
    ],
    [
      'a{x="1",y="2"} 1\na{y="2",x="1"} 3',
      2,
      'series a{x="1",y="2"} is given twice',
    ],
    [
      "# TYPE h histogram\nh 1",
      2,
      'sample "h" of histogram "h" must be "h_bucket", "h_sum" or "h_count"',
    ],
    [
      "# TYPE h histogram\nh_bucket 1",
      2,
      'histogram bucket "h_bucket" has no "le" label',
    ],
    [
      '# TYPE h histogram\nh_bucket{le="x"} 1',
      2,
      '"le" label value "x" of "h_bucket" is not a number',
    ],
    [
      '# TYPE h histogram\nh_sum{le="1"} 1',
      2,
      '"h_sum" of histogram "h" has an "le" label',
    ],
    ["# TYPE s summary\ns 1", 2, 'summary "s" has no "quantile" label'],
    [
      '# TYPE s summary\ns_count{quantile="0.5"} 1',
      2,
      '"s_count" of summary "s" has a "quantile" label',
    ],
    [
      "# TYPE s summary\ns_bucket 1",
      2,
      'metric "s_bucket" clashes with the samples of summary "s"',
    ],
    [
      "h_count 1\n# TYPE h histogram",
      2,
      'metric "h" of type histogram clashes with metric "h_count"',
    ],
    [
      "# TYPE h histogram\n# TYPE h_sum gauge",
      2,
      'metric "h_sum" clashes with the samples of histogram "h"',
    ],
  ];
  for (const [text, line, reason] of cases) {
    const caught = error(text);
    assert.equal(caught.reason, reason, text);
    assert.equal(caught.line, line, text);
    assert.equal(caught.message, `Cannot parse line ${line}: ${reason}`);
    assert.equal(caught.limit, undefined);
    assert.ok(caught instanceof TypeError);
  }
});

Deno.test("parsePushText() enforces its limits, naming them", () => {
  const series = error("a 1\nb 2\nc 3\n", { maxSeries: 2 });
  assert.deepEqual([series.line, series.limit, series.reason], [
    3,
    "maxSeries",
    "more than 2 series (maxSeries)",
  ]);
  const long = error("ok 1\n" + "a".repeat(50) + " 1\n", { maxLineLength: 20 });
  assert.deepEqual([long.line, long.limit], [2, "maxLineLength"]);
  const pairs = error('a{x="1",y="2",z="3"} 1', { maxLabelPairs: 2 });
  assert.deepEqual([pairs.limit, pairs.reason], [
    "maxLabelPairs",
    "more than 2 label pairs (maxLabelPairs)",
  ]);
  const value = error('ok 1\na{x="' + "v".repeat(11) + '"} 1', {
    maxLabelValueLength: 10,
  });
  assert.deepEqual([value.line, value.limit, value.reason], [
    2,
    "maxLabelValueLength",
    'value of label "x" longer than 10 characters (maxLabelValueLength)',
  ]);
  const help = error("# HELP a " + "h".repeat(11) + "\na 1", {
    maxHelpLength: 10,
  });
  assert.deepEqual([help.line, help.limit, help.reason], [
    1,
    "maxHelpLength",
    'HELP of metric "a" longer than 10 characters (maxHelpLength)',
  ]);
  // The defaults: 4096 each, as the registry's label values.
  assert.equal(
    error(`a{x="${"v".repeat(4097)}"} 1`).limit,
    "maxLabelValueLength",
  );
  assert.equal(
    error(`# HELP a ${"h".repeat(4097)}\na 1`).limit,
    "maxHelpLength",
  );
  assert.equal(
    parsePushText(`# HELP a ${"h".repeat(4096)}\na{x="${"v".repeat(4096)}"} 1`)
      .length,
    1,
  );
  assert.equal(parsePushText("a 1\nb 2", { maxSeries: 2 }).length, 2);
  assert.throws(() => parsePushText("", { maxSeries: 0 }), RangeError);
  assert.throws(() => parsePushText("", { maxLineLength: 1.5 }), RangeError);
});

/** Renders families as text format 0.0.4, as a client library would. */
function render(families: readonly PushFamily[]): string {
  let out = "";
  for (const family of families) {
    if (family.help !== undefined) {
      out += `# HELP ${family.name} ${escapeHelp(family.help, "prometheus")}\n`;
    }
    out += `# TYPE ${family.name} ${family.type}\n`;
    for (const sample of family.samples) {
      const pairs = sample.labelNames.map((name, i) =>
        `${name}="${escapeLabelValue(sample.labelValues[i]!)}"`
      );
      out += `${sample.name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${
        formatValue(sample.value, "prometheus")
      }\n`;
    }
  }
  return out;
}

const LABEL = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,5}$/).filter((name) =>
  !name.startsWith("__") && name !== "le" && name !== "quantile"
);
const VALUE = fc.oneof(
  fc.double({ noNaN: false }).filter((v) => !Object.is(v, -0)),
  fc.integer().map((v) => v + 0),
);

const samplesOf = (count: number) =>
  fc.uniqueArray(
    fc.tuple(
      fc.uniqueArray(fc.tuple(LABEL, fc.string()), {
        selector: ([name]) => name,
        maxLength: 3,
      }),
      VALUE,
    ),
    {
      minLength: 1,
      maxLength: count,
      selector: ([labels]) =>
        JSON.stringify([...labels].sort((a, b) => a[0] < b[0] ? -1 : 1)),
    },
  );

const FAMILY: fc.Arbitrary<PushFamily> = fc.record({
  // No leading `_`: `_` plus `_count` would be a reserved `__` name.
  base: fc.stringMatching(/^[a-zA-Z:][a-zA-Z0-9_:]{0,8}$/),
  type: fc.constantFrom<PushMetricType>(
    "counter",
    "gauge",
    "untyped",
    "histogram",
    "summary",
  ),
  help: fc.option(fc.string({ unit: "grapheme" }), { nil: undefined }),
  samples: samplesOf(4),
}).map(({ base, type, help, samples }) => {
  const expanded = samples.flatMap(([labels, value]) => {
    const labelNames = labels.map(([name]) => name);
    const labelValues = labels.map(([, v]) => v);
    if (type === "histogram") {
      return [
        {
          name: `${base}_bucket`,
          labelNames: [...labelNames, "le"],
          labelValues: [...labelValues, "+Inf"],
          value,
        },
        { name: `${base}_sum`, labelNames, labelValues, value },
        { name: `${base}_count`, labelNames, labelValues, value },
      ];
    }
    if (type === "summary") {
      return [
        {
          name: base,
          labelNames: [...labelNames, "quantile"],
          labelValues: [...labelValues, "0.5"],
          value,
        },
        { name: `${base}_count`, labelNames, labelValues, value },
      ];
    }
    return [{ name: base, labelNames, labelValues, value }];
  });
  // A HELP line's text starts after the blanks following the name.
  const kept = help?.replace(/^[ \t]+/, "");
  return {
    name: base,
    type,
    help: kept === "" ? undefined : kept,
    samples: expanded,
  };
});

/** Family names that cannot collide with another family's samples. */
function distinct(families: readonly PushFamily[]): boolean {
  const names = new Set<string>();
  for (const family of families) {
    for (const name of [family.name, ...family.samples.map((s) => s.name)]) {
      for (const suffix of ["", "_bucket", "_sum", "_count"]) {
        if (names.has(name + suffix)) return false;
      }
    }
    for (const sample of family.samples) {
      for (const suffix of ["_bucket", "_sum", "_count"]) {
        if (sample.name.endsWith(suffix)) {
          names.add(sample.name.slice(0, -suffix.length));
        }
      }
      names.add(sample.name);
    }
    names.add(family.name);
  }
  return true;
}

Deno.test("parsePushText() round-trips rendered families", () => {
  fc.assert(
    fc.property(
      fc.array(FAMILY, { maxLength: 5 }).filter(distinct),
      (families) => {
        const parsed = parsePushText(render(families));
        assert.deepEqual(parsed, families);
      },
    ),
    { numRuns: 300 },
  );
});

const TEXTISH = fc.array(
  fc.oneof(
    fc.constantFrom(
      "# HELP ",
      "# TYPE ",
      "counter",
      "histogram",
      "summary",
      "a",
      "a_bucket",
      "a_sum",
      "_count",
      "{",
      "}",
      "=",
      '"',
      "\\",
      ",",
      " ",
      "\t",
      "\n",
      "1",
      "+Inf",
      "NaN",
      'le="1"',
      'quantile="0.5"',
      "\r",
    ),
    fc.string({ maxLength: 4 }),
  ),
  { maxLength: 40 },
).map((parts) => parts.join(""));

Deno.test("parsePushText() throws nothing but PushTextError on any string", () => {
  fc.assert(
    fc.property(
      fc.oneof(TEXTISH, fc.string({ unit: "binary" })),
      (text) => {
        try {
          const families = parsePushText(text, { maxLineLength: 200 });
          for (const family of families) assert.ok(family.samples.length > 0);
        } catch (caught) {
          assert.ok(caught instanceof PushTextError, String(caught));
          assert.ok(caught.line >= 1);
        }
      },
    ),
    { numRuns: 3000 },
  );
});
