/**
 * `POST /drift/update` under load: predictions per second through the HTTP
 * API in JSON batches of 1,000, with wrk on 127.0.0.1, and the count checked.
 *
 * The server is Vigil's handler (`createHandler()`, what `serve()` runs) in
 * `Deno.serve` on 127.0.0.1, with one model (classes [0, 1], DDM on the
 * errors) on one aggregation worker. wrk posts the same body, 1,000
 * updates with a proba each (about 40 KB), over `CONNECTIONS` connections
 * for `DURATION`. The server counts the 200s it sent; at the end the model's
 * `status().predictions` must equal 1,000 times that, and no answer may be
 * other than 200 (a 503 would mean the worker's batches were full).
 *
 * Run from the repository root with (wrk from Debian's package):
 *
 *     deno run --allow-net=127.0.0.1 --allow-read=src,workers --allow-write --allow-run=wrk bench/drift_http.ts
 *
 * `--quick` runs 2 s instead of 10.
 *
 * @module
 */
import { createHandler } from "../src/http/mod.ts";
import { Registry } from "../src/metrics/mod.ts";
import {
  count,
  mps,
  print,
  printCommand,
  printHeader,
  quick,
  requireWorkerReadAccess,
  SILENT,
  table,
  verdict,
} from "./_helpers.ts";

const COMMAND =
  "deno run --allow-net=127.0.0.1 --allow-read=src,workers --allow-write --allow-run=wrk bench/drift_http.ts";
const DURATION = quick("10s", "2s");
const BATCH = 1000;
const TARGET = 1e6;

requireWorkerReadAccess(COMMAND);
printHeader("Vigil POST /drift/update");

const registry = new Registry({ logger: SILENT });
const model = registry.model({
  name: "ensemble",
  classes: [0, 1],
  detectors: [{ kind: "ddm" }],
});
const handler = createHandler({ registry, hostname: "127.0.0.1" });
const statuses = new Map<number, number>();
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  async (request) => {
    const response = await handler(request);
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    return response;
  },
);
const url = `http://127.0.0.1:${server.addr.port}/drift/update`;

const updates = Array.from({ length: BATCH }, (_, i) => ({
  prediction: (i * 7) % 5 === 0 ? 1 : 0,
  actual: 0,
  proba: Math.round((0.5 + ((i * 0.618034) % 0.5)) * 1000) / 1000,
}));
const body = JSON.stringify({ model: "ensemble", updates });
const dir = await Deno.makeTempDir({ prefix: "vigil-drift-http-" });
await Deno.writeTextFile(`${dir}/body.json`, body);
// wrk's Lua reads the body once; every request posts it.
await Deno.writeTextFile(
  `${dir}/post.lua`,
  `local f = io.open("${dir}/body.json")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
`,
);

// A warm-up, so the handler is compiled before the timed run.
for (let i = 0; i < 200; i++) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  await response.body?.cancel();
}
await model.status();
const before = (await model.status()).predictions;
statuses.clear();

const rows: (string | number)[][] = [];
let best = 0;
for (const connections of [4, 16]) {
  const start = (await model.status()).predictions;
  statuses.clear();
  const output = await new Deno.Command("wrk", {
    args: [
      "-t1",
      `-c${connections}`,
      `-d${DURATION}`,
      "-s",
      `${dir}/post.lua`,
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`wrk failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const applied = (await model.status()).predictions - start;
  const ok = statuses.get(200) ?? 0;
  const others = [...statuses].filter(([status]) => status !== 200);
  if (applied !== ok * BATCH || others.length > 0) {
    throw new Error(
      `${applied} predictions applied for ${ok} answers 200 (others: ${
        JSON.stringify(others)
      })`,
    );
  }
  best = Math.max(best, rate * BATCH);
  rows.push([
    connections,
    rate.toFixed(0),
    mps(rate * BATCH),
    count(ok),
    `${count(applied)} (exact)`,
  ]);
}
await server.shutdown();
await registry.close();
await Deno.remove(dir, { recursive: true });

print("## POST /drift/update, JSON batches of 1,000");
print();
print(
  `wrk -t1 for ${DURATION} a run, the same ${
    (body.length / 1024).toFixed(0)
  } KB body each request; one model (DDM) on one worker; ${
    count(before)
  } predictions of warm-up first. Applied: the model's count after the run, ` +
    "checked equal to 1,000 per 200 the server sent (and no other status).",
);
print();
print(
  table(
    ["connections", "requests/s", "M updates/s", "200s", "applied"],
    rows,
  ),
);
print();
print(
  `Target: at least 1 M updates/s in batches of 1,000: ${
    verdict(best >= TARGET)
  }`,
);
printCommand(COMMAND);
