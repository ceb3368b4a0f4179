// Bounded waits, for work that may never end (a blocked standard output). Internal.

/** How long shutdown waits for queued log lines to be written. */
export const LOG_FLUSH_MS = 2000;

/**
 * Waits for `work`, but at most `ms`: what waiting on a log sink needs,
 * since a blocked standard output never resolves a flush.
 */
export async function within(
  work: Promise<void> | undefined,
  ms: number,
): Promise<void> {
  if (work === undefined) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    work,
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}
