/**
 * What the run-as-scripts benchmarks share: statistics, formatting, tables,
 * the value generator, the read-permission guard and the quick mode. Not a
 * benchmark itself.
 *
 * @module
 */
import type { DistributionChild } from "../src/metrics/mod.ts";
import { unreadableWorkerPaths } from "../src/aggregation/connections.ts";

/** A logger that drops everything, so a benchmark prints only its tables. */
export const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

/** Series a producer spreads its observations over: a power of two. */
export const SERIES = 4;

/**
 * Latencies in seconds, log-uniform from 0.1 ms to 2 s, so every bucket and
 * a wide HDR range are hit. Read as `VALUES[i & 4095]`.
 */
export const VALUES: Float64Array = latencies(4096);

function latencies(length: number): Float64Array {
  const values = new Float64Array(length);
  let seed = 12345;
  for (let i = 0; i < values.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    values[i] = 1e-4 * Math.pow(2e4, seed / 2 ** 32);
  }
  return values;
}

/** Records observations `from` to `to` over `SERIES` bound children. */
export function record(
  children: readonly DistributionChild[],
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    children[i & (SERIES - 1)]!.observe(VALUES[i & 4095]!);
  }
}

/** Resolves on the next macrotask, so timers and messages get their turn. */
export const yieldToLoop = (): Promise<void> =>
  new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

// --- quick mode -------------------------------------------------------------

/**
 * Whether the script was given `--quick`: shortened runs, for checking that
 * a script works end to end, never for figures.
 */
export const QUICK: boolean = Deno.args.includes("--quick");

/** `full` normally, `short` under `--quick`. */
export function quick<T>(full: T, short: T): T {
  return QUICK ? short : full;
}

// --- statistics and formatting ----------------------------------------------

/** The `q` quantile of `samples` (nearest rank), or NaN when empty. */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

/** The arithmetic mean of `samples`. */
export function mean(samples: readonly number[]): number {
  return samples.reduce((a, b) => a + b, 0) / samples.length;
}

/** Milliseconds with two decimals. */
export const ms = (value: number): string => value.toFixed(2);

/** Milliseconds with two decimals and a sign. */
export const signedMs = (value: number): string =>
  `${value < 0 ? "−" : "+"}${Math.abs(value).toFixed(2)}`;

/** Millions per second with two decimals. */
export const mps = (perSecond: number): string => (perSecond / 1e6).toFixed(2);

/** A whole number with thousands separators. */
export const count = (value: number): string => value.toLocaleString("en-US");

/** A target's verdict, in bold. */
export const verdict = (ok: boolean): string => (ok ? "**met**" : "**missed**");

/** A Markdown table. */
export function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join(
    "\n",
  );
}

/** A sample of the exposition text, or NaN when it is absent. */
export function sample(text: string, name: string): number {
  const match = text.match(new RegExp(`^${name} (\\S+)$`, "m"));
  return match === null ? NaN : Number(match[1]);
}

/** Prints a line of the report. */
export const print = (text = ""): void => console.log(text);

/**
 * Prints the report's title and the machine it ran on, and under `--quick`
 * a warning that its figures mean nothing.
 */
export function printHeader(title: string): void {
  print(`# ${title}`);
  print();
  print(
    `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${navigator.hardwareConcurrency} cores, ${Deno.build.os}-${Deno.build.arch}.`,
  );
  print();
  if (QUICK) {
    print(
      "**Quick mode (`--quick`): shortened runs to check the script works; " +
        "the figures below are not measurements.**",
    );
    print();
  }
}

/** Prints the command that reproduces the report. */
export function printCommand(command: string): void {
  print(`Command: \`${command}\``);
}

// --- permissions --------------------------------------------------------------

/**
 * Exits unless the aggregation workers can read their module graph, by the
 * rule the pool itself applies (`unreadableWorkerPaths()`). Without it the
 * pool aggregates on the main thread instead: every figure would be wrong,
 * quietly.
 */
export function requireWorkerReadAccess(command: string): void {
  const unreadable = unreadableWorkerPaths();
  if (unreadable.length === 0) return;
  console.error(
    `Cannot run: the aggregation workers need read access to ${
      unreadable.join(", ")
    }: run from the repository root: ${command}`,
  );
  Deno.exit(1);
}
