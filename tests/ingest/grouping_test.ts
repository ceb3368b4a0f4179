import assert from "node:assert/strict";
import fc from "fast-check";
import {
  GroupingKeyError,
  parseGroupingPath,
} from "../../src/ingest/grouping.ts";

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

Deno.test("parseGroupingPath() reads Pushgateway's README examples", async (t) => {
  await t.step("job and instance", () => {
    const group = parseGroupingPath("job/some_job/instance/some_instance");
    assert.deepEqual(group, {
      job: "some_job",
      labelNames: ["instance", "job"],
      labelValues: ["some_instance", "some_job"],
      key: 'instance="some_instance",job="some_job"',
    });
  });
  await t.step("a base64 value with a slash", () => {
    const group = parseGroupingPath(
      "job/directory_cleaner/path@base64/L3Zhci90bXA",
    );
    assert.deepEqual(group.labelValues, ["directory_cleaner", "/var/tmp"]);
  });
  await t.step("label names and base64 values are percent-decoded too", () => {
    const group = parseGroupingPath("job/h/%6Eame/v/p@base64/L3g%3D");
    assert.deepEqual(group.labelNames, ["job", "name", "p"]);
    assert.deepEqual(group.labelValues, ["h", "v", "/x"]);
    assert.equal(
      parseGroupingPath("job/a/x%40base64/L3g").labelValues[1],
      "/x",
    );
  });
  await t.step("an empty value as a single = is no label", () => {
    const group = parseGroupingPath(
      "job/example/first_label@base64/=/second_label/foobar",
    );
    assert.deepEqual(group.labelNames, ["job", "second_label"]);
    assert.deepEqual(group.labelValues, ["example", "foobar"]);
    assert.equal(
      group.key,
      parseGroupingPath("job/example/second_label/foobar").key,
    );
  });
  await t.step("percent-encoding and base64 give the same key", () => {
    const encoded = parseGroupingPath(
      "job/titan/name/%CE%A0%CF%81%CE%BF%CE%BC%CE%B7%CE%B8%CE%B5%CF%8D%CF%82",
    );
    const base64 = parseGroupingPath(
      "job/titan/name@base64/zqDPgc6_zrzOt864zrXPjc-C",
    );
    assert.equal(encoded.key, base64.key);
    assert.equal(encoded.labelValues[1], "Προμηθεύς");
  });
  await t.step("a base64 job, padding optional, a trailing slash", () => {
    assert.equal(parseGroupingPath("job@base64/YS9i").job, "a/b");
    assert.equal(parseGroupingPath("job@base64/YQ==").job, "a");
    assert.equal(parseGroupingPath("job@base64/YQ").job, "a");
    assert.equal(parseGroupingPath("job/x/").job, "x");
  });
  await t.step("+ stays + as in a URL path", () => {
    assert.equal(parseGroupingPath("job/a+b").job, "a+b");
  });
});

Deno.test("parseGroupingPath() names the segment and the reason", () => {
  const cases: [string, number, RegExp][] = [
    ["", 1, /must start with "job"/],
    ["instance/x", 1, /must start with "job"/],
    ["job", 2, /the job must not be empty/],
    ["job/", 2, /the job must not be empty/],
    ["job@base64/=", 2, /the job must not be empty/],
    ["job/x/instance", 3, /the label has no value/],
    ["job/x/in-stance/y", 3, /label name "in-stance" must match/],
    ["job/x/__meta/y", 3, /reserved/],
    ["job/x/le/1", 3, /reserved for histograms/],
    ["job/x/job/y", 3, /the job label is given by the first pair only/],
    ["job/x/a/1/a/2", 5, /label "a" is given twice/],
    ["job/x/a@base64/MQ/a/2", 5, /label "a" is given twice/],
    ["job/x/a//b/c", 4, /an empty value must be written as/],
    ["job/x/a/%zz", 4, /malformed percent-encoding/],
    ["job/x/a/%FF", 4, /malformed percent-encoding/],
    ["job/x/a@base64/a+b", 4, /not base64url/],
    ["job/x/a@base64/a", 4, /not base64url/],
    ["job/x/a@base64/_w", 4, /not valid UTF-8/],
  ];
  for (const [path, segment, reason] of cases) {
    assert.throws(
      () => parseGroupingPath(path),
      (error) => {
        assert.ok(error instanceof GroupingKeyError, path);
        assert.ok(error instanceof TypeError);
        assert.equal(error.segment, segment, path);
        assert.match(error.message, reason, path);
        assert.match(
          error.message,
          /^Cannot parse grouping key segment \d+ ".*": /,
        );
        return true;
      },
    );
  }
});

Deno.test("parseGroupingPath() round-trips labels however they are encoded", () => {
  const label = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,6}$/).filter((
    name,
  ) => name !== "job" && name !== "le" && name !== "quantile");
  fc.assert(
    fc.property(
      fc.string({ minLength: 1 }),
      fc.uniqueArray(
        fc.tuple(label, fc.string(), fc.boolean()),
        { selector: ([name]) => name, maxLength: 5 },
      ),
      fc.boolean(),
      (job, labels, jobBase64) => {
        const encode = (value: string, base64: boolean): [string, string] =>
          base64 || value === "" || value.includes("/")
            ? ["@base64", base64url(value) || "="]
            : ["", encodeURIComponent(value)];
        const [jobSuffix, jobValue] = encode(job, jobBase64);
        let path = `job${jobSuffix}/${jobValue}`;
        for (const [name, value, base64] of labels) {
          const [suffix, encoded] = encode(value, base64);
          path += `/${name}${suffix}/${encoded}`;
        }
        const group = parseGroupingPath(path);
        const expected = new Map([
          ["job", job],
          // An empty value is no label.
          ...labels.filter(([, value]) => value !== "").map((
            [name, value],
          ) => [name, value] as [string, string]),
        ]);
        assert.equal(group.job, job);
        assert.deepEqual(
          Object.fromEntries(
            group.labelNames.map((name, i) => [name, group.labelValues[i]]),
          ),
          Object.fromEntries(expected),
        );
        assert.deepEqual([...group.labelNames], [...expected.keys()].sort());
      },
    ),
  );
});

Deno.test("parseGroupingPath() throws only GroupingKeyError on any path", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (path) => {
      try {
        parseGroupingPath("job/x/" + path);
      } catch (error) {
        assert.ok(error instanceof GroupingKeyError, String(error));
      }
    }),
  );
});
