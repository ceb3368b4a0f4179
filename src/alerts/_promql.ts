// PromQL rewriting shared by the alert and SLO generators.

/**
 * Adds `job="<job>"` to every selector of `metrics` in `expr`, so rules
 * keep to one scrape job in a Prometheus shared with other targets.
 * Recorded series (names with `:`), functions and label names are left
 * alone; `job` undefined returns `expr` as it is.
 */
export function scoped(
  expr: string,
  job: string | undefined,
  metrics: ReadonlySet<string>,
): string {
  if (job === undefined) return expr;
  const matcher = `job=${JSON.stringify(job)}`;
  return expr.replace(
    /(?<![\w:"])([a-zA-Z_]\w*)(?:\{([^}]*)\})?(?![\w:({])/g,
    (whole, name: string, labels: string | undefined) =>
      metrics.has(name)
        ? `${name}{${
          labels === undefined || labels === ""
            ? matcher
            : `${matcher},${labels}`
        }}`
        : whole,
  );
}

/** A family's series names: itself and a histogram's or summary's parts. */
export function seriesNames(families: Iterable<string>): Set<string> {
  const names = new Set<string>(["up"]);
  for (const family of families) {
    for (const suffix of ["", "_bucket", "_count", "_sum"]) {
      names.add(family + suffix);
    }
  }
  return names;
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
