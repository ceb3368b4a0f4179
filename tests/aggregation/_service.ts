// What a service does with Vigil, run by connections_test.ts in a child
// process with only some read permissions: logging to standard output, a
// registry, a histogram on two workers, a scrape. Prints its log lines, then
// the exposition and the workers' status as one JSON line, last.
import { Registry } from "../../src/metrics/mod.ts";
import { configureLogging } from "../../src/logging/mod.ts";

const logging = await configureLogging();
const registry = new Registry({ aggregation: { workers: 2 } });
const work = registry.histogram({
  name: "work_seconds",
  help: "Work",
  labelNames: ["k"],
});
for (let i = 0; i < 1000; i++) work.labels({ k: String(i % 4) }).observe(0.25);
const result = JSON.stringify({
  text: await registry.metrics(),
  workers: registry.workers(),
});
await registry.close();
// Every log line is out before the result.
await logging.close();
console.log(result);
