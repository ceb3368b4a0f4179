import { statfsSync } from "node:fs";
import process from "node:process";
import { diskShares } from "./_disk.ts";

/**
 * Figures about this process and its machine, for a detailed health body.
 * Each is null when the process lacks the permission to read it or the
 * platform lacks it. Percentages are rounded to 0.1, load averages to 0.01
 * and the uptime to the millisecond: finer digits are noise.
 */
export interface SystemFigures {
  /**
   * This process's CPU time (all threads) over the wall time since the
   * previous reading, or since the monitor was created, as a percent of one
   * core (above 100 when several cores work); null when two readings come
   * within the clock's resolution of the first sample.
   */
  cpuPercent: number | null;
  /** This process's resident memory as a percent of the system's memory; needs `--allow-sys=systemMemoryInfo`. */
  memoryPercent: number | null;
  /** The system's memory in use, `(total - available) / total`, as a percent; needs `--allow-sys=systemMemoryInfo`. */
  systemMemoryPercent: number | null;
  /** The used share of the filesystem holding the disk path, as a percent; needs `--allow-sys=statfs` and `--allow-read` for the path. */
  diskPercent: number | null;
  /** The 1, 5 and 15 minute load averages; needs `--allow-sys=loadavg`; null on Windows. */
  loadAverage: [number, number, number] | null;
  /** Seconds since this process started. */
  uptimeSeconds: number;
}

/** Options of {@linkcode SystemMonitor}. */
export interface SystemMonitorOptions {
  /**
   * A path on the filesystem whose usage `diskPercent` reports.
   * @default {"/"}
   */
  diskPath?: string;
}

/**
 * Reads {@linkcode SystemFigures}, keeping the previous CPU sample so that
 * `cpuPercent` covers the time between two readings: create one when the
 * service starts and keep it. It never throws for a missing permission:
 * that figure is null.
 *
 * @example Read the figures twice
 * ```ts
 * import { SystemMonitor } from "@vigil/observe/health";
 * import assert from "node:assert/strict";
 *
 * const monitor = new SystemMonitor({ diskPath: "/" });
 * // ... later, on each request for /health/detailed:
 * const figures = monitor.figures(); // CPU since the monitor was created
 * assert.ok(figures.uptimeSeconds > 0);
 * monitor.figures(); // CPU since the previous reading
 * ```
 */
export class SystemMonitor {
  readonly #diskPath: string;
  // CPU microseconds and wall milliseconds at the previous reading. Not
  // since the process started: performance.now() restarts in each worker
  // and test module, while CPU time is the whole process's.
  #cpuMicros: number;
  #wallMs: number;
  #cpuPercent: number | null = null;

  /**
   * Creates a monitor and takes its first CPU sample, which the first
   * reading's `cpuPercent` is measured from.
   *
   * @param options The path whose filesystem is measured.
   * @throws {TypeError} When `diskPath` is empty.
   */
  constructor(options: SystemMonitorOptions = {}) {
    const diskPath = options.diskPath ?? "/";
    if (typeof diskPath !== "string" || diskPath === "") {
      throw new TypeError(
        `Cannot create system monitor: diskPath must be a non-empty string, got ${
          JSON.stringify(diskPath)
        }`,
      );
    }
    this.#diskPath = diskPath;
    this.#cpuMicros = cpuMicros();
    this.#wallMs = performance.now();
  }

  /**
   * Reads every figure now.
   *
   * @returns The figures, rounded; those the process may not read are null.
   *
   * @example Read the figures
   * ```ts
   * import { SystemMonitor } from "@vigil/observe/health";
   * import assert from "node:assert/strict";
   *
   * const { memoryPercent, loadAverage } = new SystemMonitor().figures();
   * // null without --allow-sys=systemMemoryInfo; else a percent to 0.1.
   * if (memoryPercent !== null) {
   *   assert.equal(memoryPercent, Math.round(memoryPercent * 10) / 10);
   * }
   * for (const load of loadAverage ?? []) assert.ok(load >= 0);
   * ```
   */
  figures(): SystemFigures {
    const memory = memoryFigures();
    return {
      cpuPercent: tenths(this.#cpu()),
      memoryPercent: tenths(memory?.process ?? null),
      systemMemoryPercent: tenths(memory?.system ?? null),
      diskPercent: tenths(diskPercent(this.#diskPath)),
      loadAverage: loadAverage(),
      uptimeSeconds: Math.round(performance.now()) / 1000,
    };
  }

  #cpu(): number | null {
    const cpu = cpuMicros();
    const wallMs = performance.now();
    // Two readings within the clock's resolution: keep the last figure.
    if (wallMs > this.#wallMs) {
      this.#cpuPercent = (cpu - this.#cpuMicros) / 1000 /
        (wallMs - this.#wallMs) * 100;
      this.#cpuMicros = cpu;
      this.#wallMs = wallMs;
    }
    return this.#cpuPercent;
  }
}

/** A percentage to 0.1. */
function tenths(percent: number | null): number | null {
  return percent === null ? null : Math.round(percent * 10) / 10;
}

/** CPU time of the whole process, every thread, in microseconds. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

/** Whether an error says the process may not do something. */
function isDenied(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied;
}

function memoryFigures(): { process: number; system: number } | undefined {
  if (!granted({ name: "sys", kind: "systemMemoryInfo" })) return undefined;
  let info: Deno.SystemMemoryInfo;
  try {
    info = Deno.systemMemoryInfo();
  } catch (error) {
    if (isDenied(error)) return undefined;
    throw error;
  }
  if (!(info.total > 0)) return undefined;
  return {
    process: Deno.memoryUsage().rss / info.total * 100,
    system: (info.total - info.available) / info.total * 100,
  };
}

function diskPercent(path: string): number | null {
  if (!granted({ name: "sys", kind: "statfs" })) return null;
  if (!granted({ name: "read", path })) return null;
  try {
    return diskShares(statfsSync(path))?.usedPercent ?? null;
  } catch (error) {
    if (isDenied(error) || isSystemError(error)) return null;
    throw error;
  }
}

/** A Node-style system error, such as ENOENT for a missing path. */
function isSystemError(error: unknown): boolean {
  return error instanceof Error && "code" in error &&
    typeof error.code === "string" && error.code.startsWith("E");
}

function hundredths(value: number): number {
  return Math.round(value * 100) / 100;
}

function loadAverage(): [number, number, number] | null {
  // Windows has no load average; Deno returns zeros there.
  if (Deno.build.os === "windows") return null;
  if (!granted({ name: "sys", kind: "loadavg" })) return null;
  try {
    const [one, five, fifteen] = Deno.loadavg();
    if (one === undefined || five === undefined || fifteen === undefined) {
      return null;
    }
    return [hundredths(one), hundredths(five), hundredths(fifteen)];
  } catch (error) {
    if (isDenied(error)) return null;
    throw error;
  }
}
