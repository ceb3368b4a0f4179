import assert from "node:assert/strict";
import { createLogger } from "../../src/logging/mod.ts";

Deno.test("createLogger() writes one JSON line per record with base fields", () => {
  const lines: string[] = [];
  const log = createLogger({
    level: "debug",
    fields: { service: "api" },
    write: (line) => lines.push(line),
    now: () => 86_400_000,
  });
  log.debug("a", { n: 1 });
  log.error("b", { error: new RangeError("bad\nvalue") });
  assert.deepEqual(lines.map((line) => JSON.parse(line)), [
    {
      time: "1970-01-02T00:00:00.000Z",
      level: "debug",
      msg: "a",
      service: "api",
      n: 1,
    },
    {
      time: "1970-01-02T00:00:00.000Z",
      level: "error",
      msg: "b",
      service: "api",
      error: { name: "RangeError", message: "bad\nvalue" },
    },
  ]);
  assert.ok(lines.every((line) => !line.includes("\n")));
});

Deno.test("createLogger() drops records below its level", () => {
  const lines: string[] = [];
  const log = createLogger({
    level: "warn",
    write: (line) => lines.push(line),
  });
  log.debug("x");
  log.info("x");
  log.warn("kept");
  log.error("kept");
  assert.equal(lines.length, 2);
});

Deno.test("createLogger() rejects an unknown level", () => {
  assert.throws(
    () => createLogger({ level: "loud" as "info" }),
    {
      name: "RangeError",
      message: 'Cannot create logger: unknown level "loud"',
    },
  );
});

Deno.test("createLogger() survives fields JSON cannot encode", () => {
  const lines: string[] = [];
  const log = createLogger({ write: (line) => lines.push(line), now: () => 0 });
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  log.info("odd fields", { circular, big: 10n });
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]!);
  assert.equal(record.msg, "odd fields");
  assert.match(record.logError, /could not be encoded/);
});

Deno.test("createLogger() writes no terminal colour codes, in the message or the fields", () => {
  const lines: string[] = [];
  const log = createLogger({ write: (line) => lines.push(line) });
  const red = "\x1b[31mUncaught\x1b[0m";
  log.error(`worker error: ${red}`, {
    reason: red,
    nested: { text: `\x1b[1m\x1b[38;5;12mbold\x1b[0m` },
    error: new Error(red),
  });
  assert.ok(!lines[0]!.includes("\\u001b"), lines[0]);
  assert.deepEqual(JSON.parse(lines[0]!), {
    time: JSON.parse(lines[0]!).time,
    level: "error",
    msg: "worker error: Uncaught",
    reason: "Uncaught",
    nested: { text: "bold" },
    error: { name: "Error", message: "Uncaught" },
  });
});
