// How full a filesystem is, from statfs() figures. Internal.

/** The block counts of `statfs()` that matter here. */
export interface BlockCounts {
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
}

/**
 * The used percentage and free share as `df` computes them: blocks reserved
 * for the superuser count as neither used nor free, since the service
 * cannot write to them. Undefined for a filesystem without blocks (procfs).
 */
export function diskShares(
  stats: BlockCounts,
): { usedPercent: number; freeRatio: number } | undefined {
  const used = stats.blocks - stats.bfree;
  const usable = used + stats.bavail;
  if (!(usable > 0)) return undefined;
  return { usedPercent: used / usable * 100, freeRatio: stats.bavail / usable };
}
