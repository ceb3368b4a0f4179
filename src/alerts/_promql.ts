// PromQL rewriting of the alert and SLO generators.
import { withMatchers } from "../base/_promql.ts";

export { seriesNames } from "../base/_promql.ts";

/**
 * Adds `job="<job>"` to every selector of `metrics` in `expr`, so rules
 * keep to one scrape job in a Prometheus shared with other targets;
 * `job` undefined returns `expr` as it is.
 */
export function scoped(
  expr: string,
  job: string | undefined,
  metrics: ReadonlySet<string>,
): string {
  return job === undefined
    ? expr
    : withMatchers(expr, `job=${JSON.stringify(job)}`, metrics);
}

/** The finite bucket bounds of a histogram in exposition text, by bound, with their `le` text. */
export function exposedBounds(
  text: string,
  family: string,
): Map<number, string> {
  const bounds = new Map<number, string>();
  const pattern = new RegExp(`^${family}_bucket\\{.*\\ble="([^"]+)"`);
  for (const line of text.split("\n")) {
    const le = pattern.exec(line)?.[1];
    if (le !== undefined && le !== "+Inf") bounds.set(Number(le), le);
  }
  return bounds;
}
