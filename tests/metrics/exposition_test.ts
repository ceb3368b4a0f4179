import assert from "node:assert/strict";
import { negotiateFormat, Registry } from "../../src/metrics/mod.ts";
import { escapeHelp, formatValue } from "../../src/base/_text.ts";
import { recordingLogger } from "../_tools.ts";
import { goldenRegistry } from "./_golden.ts";

const GOLDEN = new URL("../../fixtures/golden/", import.meta.url);

async function golden(file: string, actual: string): Promise<void> {
  const url = new URL(file, GOLDEN);
  if (Deno.env.get("UPDATE_GOLDEN") === "1") {
    await Deno.writeTextFile(url, actual);
  }
  assert.equal(actual, await Deno.readTextFile(url));
}

Deno.test("Registry.metrics() renders Prometheus text 0.0.4 as the golden file", async () => {
  const registry = goldenRegistry();
  try {
    await golden("exposition.prom", await registry.metrics());
  } finally {
    await registry.close();
  }
});

Deno.test("Registry.metrics() renders OpenMetrics 1.0 as the golden file", async () => {
  const registry = goldenRegistry();
  try {
    await golden(
      "exposition.om",
      await registry.metrics({ format: "openmetrics" }),
    );
  } finally {
    await registry.close();
  }
});

Deno.test("Registry.metrics() never interleaves families", async () => {
  const registry = goldenRegistry();
  try {
    for (const format of ["prometheus", "openmetrics"] as const) {
      const text = await registry.metrics({ format });
      const seen: string[] = [];
      for (const line of text.split("\n")) {
        const match = /^# TYPE (\S+)/.exec(line);
        if (match) seen.push(match[1]!);
      }
      assert.deepEqual(seen, [...new Set(seen)], `${format}: a TYPE repeats`);
      // Samples follow their own TYPE line: each sample's name starts with
      // the family named by the TYPE line above it.
      let family = "";
      for (const line of text.split("\n")) {
        const match = /^# TYPE (\S+)/.exec(line);
        if (match) family = match[1]!;
        else if (line !== "" && !line.startsWith("#")) {
          assert.ok(
            line.startsWith(family),
            `${format}: ${line} under ${family}`,
          );
        }
      }
    }
  } finally {
    await registry.close();
  }
});

Deno.test("Registry.metrics() rejects an unknown format", async () => {
  const registry = new Registry({ logger: recordingLogger() });
  await assert.rejects(
    // @ts-expect-error: the format is checked at run time too
    registry.metrics({ format: "json" }),
    { name: "TypeError", message: /unknown format "json"/ },
  );
});

Deno.test("formatValue() writes canonical numbers", async (t) => {
  const cases: [number, string, string][] = [
    [1, "1", "1.0"],
    [0, "0", "0.0"],
    [-0, "0", "0.0"],
    [-3, "-3", "-3.0"],
    [0.25, "0.25", "0.25"],
    [1e21, "1e+21", "1e+21"],
    [1.5e-7, "1.5e-7", "1.5e-7"],
    [Infinity, "+Inf", "+Inf"],
    [-Infinity, "-Inf", "-Inf"],
    [NaN, "NaN", "NaN"],
  ];
  for (const [value, prometheus, openmetrics] of cases) {
    await t.step(`${value}`, () => {
      assert.equal(formatValue(value, "prometheus"), prometheus);
      assert.equal(formatValue(value, "openmetrics"), openmetrics);
    });
  }
});

Deno.test("escapeHelp() escapes quotes only in OpenMetrics", () => {
  const help = 'a\\b"c\nd';
  assert.equal(escapeHelp(help, "prometheus"), 'a\\\\b"c\\nd');
  assert.equal(escapeHelp(help, "openmetrics"), 'a\\\\b\\"c\\nd');
});

Deno.test("negotiateFormat() reads the Accept header", async (t) => {
  const cases: [string | null, string][] = [
    [null, "prometheus"],
    ["", "prometheus"],
    ["*/*", "prometheus"],
    ["text/plain; version=0.0.4", "prometheus"],
    ["application/openmetrics-text", "openmetrics"],
    ["application/openmetrics-text; version=1.0.0", "openmetrics"],
    ["application/openmetrics-text;version=0.0.1", "openmetrics"],
    ["application/openmetrics-text; version=2.0.0", "prometheus"],
    ["application/openmetrics-text; q=0", "prometheus"],
    ["text/plain;q=0.9, application/openmetrics-text;q=0.5", "prometheus"],
    ["text/plain;q=0.5, Application/OpenMetrics-Text;q=0.9", "openmetrics"],
    [
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
      "openmetrics",
    ],
    ["garbage;;;=,", "prometheus"],
  ];
  for (const [accept, expected] of cases) {
    await t.step(`${accept}`, () => {
      assert.equal(negotiateFormat(accept), expected);
    });
  }
});
