// What the HTTP tests share: a quiet registry and a sample read by pattern.
import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import { recordingLogger } from "../_tools.ts";

/** A registry with one worker whose warnings are recorded, not printed. */
export function registry(): Registry {
  return new Registry({
    logger: recordingLogger(),
    aggregation: { workers: 1 },
  });
}

/** The number `line`'s first group captures in `text`, which must match. */
export function sample(text: string, line: RegExp): number {
  const match = line.exec(text);
  assert.ok(match, `${line} not in:\n${text}`);
  return Number(match[1]);
}
