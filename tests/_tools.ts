// Helpers shared by the tests: external tools and loggers.
import type { LogFields, Logger } from "../src/base/log.ts";

/** Whether a command runs here: `probe` (its version query) succeeds. */
export async function hasCommand(
  command: string,
  probe: readonly string[] = ["--version"],
): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(command, {
      args: [...probe],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Decides whether tests needing `command` are ignored. Under CI=true a
 * missing tool is never ignored: the tests run and fail, because CI installs
 * every tool.
 */
export async function ignoreWithout(
  command: string,
  install: string,
  probe?: readonly string[],
): Promise<boolean> {
  if (await hasCommand(command, probe)) return false;
  if (Deno.env.get("CI") === "true") return false;
  console.warn(
    `%cignoring tests that need ${command}: install it with ${install}`,
    "color: yellow",
  );
  return true;
}

/** The path of Debian's Python, which has python3-prometheus-client. */
export const PYTHON = "/usr/bin/python3";

/** Whether tests needing promtool are ignored (see {@linkcode ignoreWithout}). */
export function ignoreWithoutPromtool(): Promise<boolean> {
  return ignoreWithout("promtool", "apt-get install prometheus");
}

/** Whether tests needing Python's OpenMetrics parser are ignored. */
export function ignoreWithoutPython(): Promise<boolean> {
  return ignoreWithout(PYTHON, "apt-get install python3-prometheus-client");
}

/** Runs a command with `input` on standard input. */
export async function run(
  command: string,
  args: string[],
  input: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** `promtool check metrics` on an exposition. */
export function promtoolCheck(
  text: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return run("promtool", ["check", "metrics"], text);
}

/** A sample as the Python OpenMetrics parser returns it. */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  /** A number, or "NaN", "+Inf", "-Inf". */
  value: number | string;
  /** The sample's exemplar, when it has one. */
  exemplar?: {
    labels: Record<string, string>;
    value: number | string;
    timestamp: number | null;
  };
}

/** A family as the Python OpenMetrics parser returns it. */
export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const PARSE_SCRIPT = `
import json, math, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = sys.stdin.buffer.read().decode("utf-8")
def num(v):
    if math.isnan(v): return "NaN"
    if math.isinf(v): return "+Inf" if v > 0 else "-Inf"
    return v
def sample(s):
    out = {"name": s.name, "labels": s.labels, "value": num(s.value)}
    if s.exemplar is not None:
        out["exemplar"] = {"labels": s.exemplar.labels, "value": num(s.exemplar.value),
                           "timestamp": None if s.exemplar.timestamp is None else float(s.exemplar.timestamp)}
    return out
out = [{"name": f.name, "type": f.type, "help": f.documentation,
        "samples": [sample(s) for s in f.samples]}
       for f in text_string_to_metric_families(text)]
sys.stdout.buffer.write(json.dumps(out).encode("utf-8"))
`;

/** Parses OpenMetrics text with `prometheus_client`'s parser; throws on rejection. */
export async function parseOpenMetrics(text: string): Promise<ParsedFamily[]> {
  const { code, stdout, stderr } = await run(
    PYTHON,
    ["-c", PARSE_SCRIPT],
    text,
  );
  if (code !== 0) throw new Error(`The OpenMetrics parser failed: ${stderr}`);
  return JSON.parse(stdout);
}

/** A logger that keeps its records. */
export function recordingLogger(): Logger & {
  records: { level: string; message: string; fields?: LogFields }[];
} {
  const records: { level: string; message: string; fields?: LogFields }[] = [];
  const log = (level: string) => (message: string, fields?: LogFields) => {
    records.push(
      fields === undefined ? { level, message } : {
        level,
        message,
        fields,
      },
    );
  };
  return {
    records,
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  };
}
