/**
 * Logging benchmarks: the calling thread's cost of a log call, Vigil's
 * pipeline (LogTape, context, redaction, JSON, bounded queue) against pino
 * writing the same record, as ratios from one run.
 *
 * - group "filtered": a `debug` call below the configured level (`info`),
 *   1000 calls an iteration; divide by 1000. Baseline: a bare call of an
 *   empty function with the same arguments.
 * - group "file": a line emitted to a file, 1000 calls an iteration, the
 *   same record (a message, a request id in the context, three fields):
 *   Vigil's daily-file sink (the line formatted, redacted and queued on the
 *   calling thread, written by the queue's writer) against pino 10 with an
 *   asynchronous `pino.destination` (sonic-boom, `sync: false`). Both are
 *   flushed every 16 iterations outside the timed span, so neither queue
 *   grows without bound nor drops (checked: Vigil's `dropped` must stay 0).
 *
 * Run from the repository root with:
 *
 *     deno bench --allow-read --allow-write --allow-env --allow-sys bench/logging_bench.ts
 *
 * @module
 */
import pino from "pino";
import {
  configureLogging,
  getLogger,
  withLogContext,
} from "../src/logging/mod.ts";

const N = 1000;
const FLUSH_EVERY = 16;

const directory = await Deno.makeTempDir({ prefix: "vigil-logging-bench-" });
const logging = await configureLogging({
  level: "info",
  stdout: false,
  file: { directory },
  queueSize: 100_000,
  service: { name: "bench", environment: "bench", version: "1" },
});
const vigil = getLogger("bench");

const pinoFile = `${directory}/pino.log`;
const destination = pino.destination({ dest: pinoFile, sync: false });
const pinoLogger = pino(
  { level: "info", base: { service: "bench" } },
  destination,
);

let sink = 0;
function bare(message: string, fields: Record<string, unknown>): void {
  sink += message.length + (fields.n as number);
}

const fields = { route: "/predict", status: 200, duration_ms: 12.5 };

// --- filtered ------------------------------------------------------------

Deno.bench({
  name: "bare function call x1000",
  group: "filtered",
  baseline: true,
  fn() {
    for (let i = 0; i < N; i++) bare("debug line", { n: i });
  },
});

Deno.bench({
  name: "Vigil getLogger().debug() below info x1000",
  group: "filtered",
  fn() {
    for (let i = 0; i < N; i++) vigil.debug("debug line", { n: i });
  },
});

Deno.bench({
  name: "pino .debug() below info x1000",
  group: "filtered",
  fn() {
    for (let i = 0; i < N; i++) pinoLogger.debug({ n: i }, "debug line");
  },
});

// --- emitted to a file ---------------------------------------------------

function paced(
  loop: () => void,
  flush: () => Promise<void>,
): (t: Deno.BenchContext) => Promise<void> {
  let calls = 0;
  return async (t) => {
    if (calls === 0) await new Promise((r) => setTimeout(r, 20));
    t.start();
    loop();
    t.end();
    if (++calls % FLUSH_EVERY === 0) await flush();
  };
}

Deno.bench({
  name: "pino .info() to pino.destination(sync: false) x1000",
  group: "file",
  baseline: true,
  fn: paced(() => {
    const child = pinoLogger.child({ request_id: "r-7f3a" });
    for (let i = 0; i < N; i++) child.info(fields, "Request served");
  }, () =>
    new Promise<void>((resolve) => {
      destination.flush(() => resolve());
    })),
});

Deno.bench({
  name: "Vigil .info() to the daily file sink x1000",
  group: "file",
  fn: paced(() => {
    withLogContext({ request_id: "r-7f3a" }, () => {
      for (let i = 0; i < N; i++) vigil.info("Request served", fields);
    });
  }, async () => {
    await logging.flush();
    const dropped = logging.stats().reduce((n, s) => n + s.dropped, 0);
    if (dropped > 0) throw new Error(`${dropped} lines dropped`);
  }),
});

globalThis.addEventListener("unload", () => {
  if (Number.isNaN(sink)) console.log(sink);
  destination.flushSync();
  Deno.removeSync(directory, { recursive: true });
});
