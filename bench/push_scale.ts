// Push at scale: 1000 groups of 100 series (100,000 series) held by the
// gateway, then five scrapes of the registry. Run: deno run -A bench/push_scale.ts
import { Registry } from "../src/metrics/registry.ts";
import { PushGateway } from "../src/ingest/push.ts";
const registry = new Registry();
const gw = new PushGateway(registry, { maxSeries: 200_000 });
const body = Array.from(
  { length: 100 },
  (_, i) => `push_metric{series="${i}"} ${i}`,
).join("\n");
const text = "# TYPE push_metric gauge\n" + body + "\n";
for (let g = 0; g < 1000; g++) {
  const r = await gw.handle(
    new Request("http://x/metrics/job/j/instance/" + g, {
      method: "PUT",
      body: text,
    }),
    "job/j/instance/" + g,
  );
  if (r.status !== 200) throw new Error(await r.text());
}
const times: number[] = [];
let size = 0;
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  size = (await registry.metrics()).length;
  times.push(performance.now() - t);
}
console.log(
  `1000 groups x 100 series: scrape ${
    times.map((t) => t.toFixed(0)).join(", ")
  } ms, ${(size / 1e6).toFixed(1)} MB; RSS ${
    (Deno.memoryUsage().rss / 1e6).toFixed(0)
  } MB`,
);
gw.close();
await registry.close();
