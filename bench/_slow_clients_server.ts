/**
 * The server `bench/slow_clients.ts` holds connections against, in a process
 * of its own so that its memory is measured apart from the clients': Vigil's
 * `serve()` on 127.0.0.1 with a `Registry` of a few series. Not run by hand.
 *
 *     deno run --allow-net=127.0.0.1 bench/_slow_clients_server.ts
 *
 * It listens on a free port and prints `ready <port>`. Its stdin is the
 * side channel: each line `rss` is answered on stdout with
 * `rss <bytes>` (`Deno.memoryUsage().rss`), since the parent may not read
 * `/proc/<pid>/status` without `--allow-all`. When stdin closes (the parent
 * is done, or died) the server shuts down and the process exits, so it
 * never outlives the benchmark.
 *
 * @module
 */
import { serve } from "../src/http/mod.ts";
import { Registry } from "../src/metrics/mod.ts";
import { SILENT } from "./_helpers.ts";

const registry = new Registry({ logger: SILENT });
const requests = registry.counter({
  name: "bench_requests_total",
  help: "Benchmark series",
  labelNames: ["route"],
});
for (let i = 0; i < 10; i++) requests.labels({ route: `/r${i}` }).inc();

const encoder = new TextEncoder();
const write = (line: string) => Deno.stdout.write(encoder.encode(`${line}\n`));

const server = serve({
  registry,
  port: 0,
  hostname: "127.0.0.1",
  onListen: (addr) => void write(`ready ${addr.port}`),
});

let pending = "";
for await (
  const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())
) {
  pending += chunk;
  let newline = pending.indexOf("\n");
  while (newline >= 0) {
    const command = pending.slice(0, newline).trim();
    pending = pending.slice(newline + 1);
    if (command === "rss") await write(`rss ${Deno.memoryUsage().rss}`);
    newline = pending.indexOf("\n");
  }
}
// Held connections would keep shutdown() waiting only if a request were in
// flight; the slow ones never got that far, so exit once it settles or after
// a second, whichever comes first.
await Promise.race([
  server.shutdown(),
  new Promise((resolve) => setTimeout(resolve, 1000)),
]);
await registry.close();
Deno.exit(0);
