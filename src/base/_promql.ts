// PromQL rewriting shared by the dashboard and rule generators.

/**
 * Adds `matchers` (e.g. `job="api"`) to every selector of one of `metrics`
 * in `expr`, before the selector's own matchers. Recorded series (names
 * with `:`), functions, label names and strings are left alone.
 */
export function withMatchers(
  expr: string,
  matchers: string,
  metrics: ReadonlySet<string>,
): string {
  return expr.replace(
    /(?<![\w:"])([a-zA-Z_]\w*)(?:\{([^}]*)\})?(?![\w:({])/g,
    (whole, name: string, labels: string | undefined) =>
      metrics.has(name)
        ? `${name}{${
          labels === undefined || labels === ""
            ? matchers
            : `${matchers},${labels}`
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
