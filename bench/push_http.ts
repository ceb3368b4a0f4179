// Pushes per second of a 100-series text body over HTTP on 127.0.0.1:
// Vigil's PushGateway (a Deno.serve) against Debian's prometheus-pushgateway,
// same body, same clients, same run. Bounded: a fixed count of PUTs to one
// group from a few concurrent clients, after a warm-up.
//
//   deno run -A bench/push_http.ts [pushes=20000] [clients=4]
import { Registry } from "../src/metrics/registry.ts";
import { PushGateway } from "../src/ingest/push.ts";

const TOTAL = Number(Deno.args[0] ?? 20_000);
const CLIENTS = Number(Deno.args[1] ?? 4);
const WARMUP = 1_000;

function body(): string {
  let out = "# HELP batch_items Items processed\n# TYPE batch_items gauge\n";
  for (let i = 0; i < 100; i++) {
    out += `batch_items{shard="${i}",kind="k${i % 7}"} ${i * 1.5}\n`;
  }
  return out;
}

async function run(
  url: string,
  payload: string,
  count: number,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < count) {
        next++;
        const response = await fetch(url, { method: "PUT", body: payload });
        await response.arrayBuffer();
        if (response.status !== 200) {
          throw new Error(`PUT ${url} answered ${response.status}`);
        }
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.ok) return;
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not become ready`);
}

const payload = body();
const registry = new Registry();
const gateway = new PushGateway(registry);
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  (request) => {
    const path = new URL(request.url).pathname;
    return path.startsWith("/metrics/")
      ? gateway.handle(request, path.slice(9))
      : new Response("not found", { status: 404 });
  },
);
const dir = await Deno.makeTempDir();
const port = freePort();
const real = new Deno.Command("prometheus-pushgateway", {
  args: [`--web.listen-address=127.0.0.1:${port}`, "--persistence.file="],
  cwd: dir,
  stdout: "null",
  stderr: "null",
}).spawn();
try {
  const realBase = `http://127.0.0.1:${port}`;
  await waitReady(`${realBase}/-/ready`);
  const targets = [
    [
      "vigil",
      `http://127.0.0.1:${server.addr.port}/metrics/job/bench/instance/a`,
    ],
    ["prometheus-pushgateway", `${realBase}/metrics/job/bench/instance/a`],
  ] as const;
  const rates = new Map<string, number>();
  for (const [name, url] of targets) {
    await run(url, payload, WARMUP);
    rates.set(name, await run(url, payload, TOTAL));
  }
  const vigil = rates.get("vigil")!;
  const pg = rates.get("prometheus-pushgateway")!;
  console.log(
    `${TOTAL} PUTs of a 100-series body, ${CLIENTS} clients, 127.0.0.1\n`,
  );
  console.log("| server | pushes/s | vs pushgateway |");
  console.log("|---|---:|---:|");
  for (const [name, rate] of rates) {
    console.log(
      `| ${name} | ${rate.toFixed(0)} | ${(rate / pg).toFixed(2)}x |`,
    );
  }
  console.log(
    `\ntarget vigil >= pushgateway: ${vigil >= pg ? "met" : "NOT met"}`,
  );
} finally {
  real.kill("SIGTERM");
  await real.status;
  gateway.close();
  await server.shutdown();
  await registry.close();
  await Deno.remove(dir, { recursive: true });
}
