// Seeded random data for tests: the same numbers on every run.

/** A seeded uniform generator on [0, 1) (mulberry32). */
export function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded standard normal generator (Box-Muller). */
export function normal(seed: number): () => number {
  const next = uniform(seed);
  return () => {
    const u = 1 - next();
    const v = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** `count` log-normal values: exp(N(mu, sigma)). */
export function logNormal(
  count: number,
  mu: number,
  sigma: number,
  seed: number,
): Float64Array {
  const next = normal(seed);
  return Float64Array.from(
    { length: count },
    () => Math.exp(mu + sigma * next()),
  );
}

/** `count` values from two normal modes, `share` of them in the first. */
export function bimodal(
  count: number,
  share: number,
  seed: number,
): Float64Array {
  const next = normal(seed);
  const pick = uniform(seed + 1);
  return Float64Array.from(
    { length: count },
    () => pick() < share ? 0.05 + 0.005 * next() : 0.5 + 0.05 * next(),
  );
}

/** The exact quantile: the smallest value with at least `q * n` values at or below it. */
export function exactQuantile(sorted: Float64Array, q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}
