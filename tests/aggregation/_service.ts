// What a service does with Vigil, run by connections_test.ts in a child
// process with only some read permissions: a registry, a histogram on two
// workers, a scrape. Prints the exposition and the workers' status as JSON.
import { Registry } from "../../src/metrics/mod.ts";

const registry = new Registry({ aggregation: { workers: 2 } });
const work = registry.histogram({
  name: "work_seconds",
  help: "Work",
  labelNames: ["k"],
});
for (let i = 0; i < 1000; i++) work.labels({ k: String(i % 4) }).observe(0.25);
const text = await registry.metrics();
console.log(JSON.stringify({ text, workers: registry.workers() }));
await registry.close();
