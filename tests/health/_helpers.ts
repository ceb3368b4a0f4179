// Helpers shared by the health tests.
import { Health } from "../../src/health/mod.ts";
import { recordingLogger } from "../_tools.ts";

/** A clock the test moves by hand. */
export interface FakeClock {
  ms: number;
  now: () => number;
}

/** A fake clock starting at 2026-01-01T00:00:00Z. */
export function fakeClock(): FakeClock {
  const clock: FakeClock = {
    ms: Date.UTC(2026, 0, 1),
    now: () => clock.ms,
  };
  return clock;
}

/** A Health with a fake clock and a logger that keeps its records. */
export function setup(): {
  health: Health;
  clock: FakeClock;
  logger: ReturnType<typeof recordingLogger>;
} {
  const clock = fakeClock();
  const logger = recordingLogger();
  return { health: new Health({ now: clock.now, logger }), clock, logger };
}

/**
 * Waits until `predicate` holds, checking every few milliseconds. The limit
 * only turns a hang into a failure; it asserts nothing about speed.
 */
export async function waitFor(
  predicate: () => boolean,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
