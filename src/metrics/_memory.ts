// One memory reading shared by the gauges of a scrape. Internal.

/**
 * `Deno.memoryUsage()` costs about 12 µs here (it reads the process' memory
 * from the system): a scrape reads it once and shares the reading between
 * the gauges that need it. A reading younger than 50 ms is reused.
 */
export function memorySampler(): () => Deno.MemoryUsage {
  let taken = -Infinity;
  let reading: Deno.MemoryUsage | undefined;
  return () => {
    const now = performance.now();
    if (reading === undefined || now - taken > 50) {
      reading = Deno.memoryUsage();
      taken = now;
    }
    return reading;
  };
}
