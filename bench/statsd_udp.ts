/**
 * StatsD over UDP on 127.0.0.1: the highest paced rate at which a receiver
 * counts exactly the lines sent, for (a) a bare `node:dgram` receiver that
 * only counts lines (`\n` + 1 per packet) and (b) Vigil's `startStatsd()`
 * recording into a Registry (histograms aggregated in workers). Issue 13's
 * target: (b) at least 50 % of (a)'s lines per second, with no loss.
 *
 * The sender is a separate process (this script with `--send`), pacing
 * packets of 10 DogStatsD lines. Per receiver: the rate doubles from 5 000
 * packets/s until lines are lost (or the sender cannot keep the pace), a
 * binary search narrows the step, then a confirmation run of 200 000
 * packets at the rate found must count every line (else 15 % lower, at
 * most eight times). Then the record path alone is timed in-process (no
 * sockets): parse + map + record per line, against parse alone.
 *
 * Run from the repository root, with no other benchmark running:
 *
 *     deno run -A bench/statsd_udp.ts
 *
 * @module
 */
import dgram from "node:dgram";
import { Registry } from "../src/metrics/registry.ts";
import { startStatsd } from "../src/ingest/statsd_server.ts";
import { StatsdParser } from "../src/ingest/statsd.ts";
import { StatsdRecorder } from "../src/ingest/_statsd_recorder.ts";

const HOST = "127.0.0.1";
const LINES = [
  "api.requests:1|c|#env:prod,route:/users",
  "api.errors:1|c|@0.5|#env:prod,route:/users",
  "api.latency:12.5|ms|#env:prod,route:/users",
  "queue.depth:42|g|#env:prod,queue:emails",
  "queue.depth:-3|g|#env:prod,queue:emails",
  "payload.size:512:1024:2048|h|#env:prod,route:/upload",
  "db.query.time:3.25|ms|#env:prod,table:users",
  "cache.hits:7|c|#env:prod,cache:sessions",
  "worker.busy:0.75|g|#env:prod,pool:io",
  "render.time:8|d|#env:prod,page:home",
];
const PACKET_TEXT = LINES.join("\n");
const LINES_PER_PACKET = LINES.length;
const PROBE_PACKETS = 20_000;
const CONFIRM_PACKETS = 200_000;
const START_RATE = 5_000;
const MAX_RATE = 400_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- sender (child process) -----------------------------------------------

async function send(port: number, packets: number, rate: number) {
  const socket = dgram.createSocket("udp4");
  const packet = new TextEncoder().encode(PACKET_TEXT);
  const start = performance.now();
  let sent = 0;
  while (sent < packets) {
    const due = Math.min(
      packets,
      Math.floor((performance.now() - start) / 1000 * rate) + 1,
    );
    if (due <= sent) {
      await sleep(1);
      continue;
    }
    // Send the packets due, awaiting only the last: the op queue stays short.
    let last: Promise<void> | undefined;
    for (; sent < due; sent++) {
      const final = sent === due - 1;
      const done = new Promise<void>((resolve) =>
        socket.send(packet, port, HOST, () => resolve())
      );
      if (final) last = done;
    }
    await last;
  }
  const seconds = (performance.now() - start) / 1000;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  console.log(JSON.stringify({ seconds }));
}

// ---- receivers ------------------------------------------------------------

interface Receiver {
  name: string;
  port: number;
  lines(): number;
  close(): Promise<void>;
}

async function bare(): Promise<Receiver> {
  const socket = dgram.createSocket("udp4");
  let lines = 0;
  socket.on("message", (packet: Uint8Array) => {
    let count = 1;
    for (let i = 0; i < packet.length; i++) if (packet[i] === 10) count++;
    lines += count;
  });
  await new Promise<void>((resolve) => socket.bind(0, HOST, () => resolve()));
  return {
    name: "bare node:dgram (counts lines)",
    port: socket.address().port,
    lines: () => lines,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

async function vigil(): Promise<Receiver> {
  const registry = new Registry();
  const server = await startStatsd(registry, { port: 0, tcp: false });
  return {
    name: "Vigil startStatsd() → Registry",
    port: server.port,
    lines: () => {
      const { accepted, rejected } = server.stats();
      if (rejected > 0) throw new Error("the bench lines must be accepted");
      return accepted;
    },
    close: async () => {
      await server.close();
      await registry.close();
    },
  };
}

interface Trial {
  rate: number;
  sent: number;
  counted: number;
  seconds: number;
}

async function trial(
  receiver: Receiver,
  packets: number,
  rate: number,
): Promise<Trial> {
  const before = receiver.lines();
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      import.meta.filename!,
      "--send",
      String(receiver.port),
      String(packets),
      String(rate),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!success) throw new Error("the sender failed");
  const { seconds } = JSON.parse(new TextDecoder().decode(stdout));
  const sent = packets * LINES_PER_PACKET;
  // Wait until the count stops moving (bounded), then read it.
  let last = -1;
  for (let i = 0; i < 40; i++) {
    const now = receiver.lines() - before;
    if (now >= sent || now === last) break;
    last = now;
    await sleep(50);
  }
  const t = { rate, sent, counted: receiver.lines() - before, seconds };
  console.error(
    `  ${receiver.name}: ${rate} packets/s paced, ${
      Math.round(packets / seconds)
    } achieved, ${t.counted}/${sent} lines counted`,
  );
  return t;
}

function clean(t: Trial): boolean {
  // The sender must have kept the pace (within 5 %) and nothing was lost.
  const achieved = t.sent / LINES_PER_PACKET / t.seconds;
  return t.counted === t.sent && achieved >= t.rate * 0.95;
}

async function highestRate(receiver: Receiver): Promise<Trial> {
  let good: Trial | undefined;
  let bad = MAX_RATE * 2;
  for (let rate = START_RATE; rate <= MAX_RATE; rate *= 2) {
    const t = await trial(receiver, PROBE_PACKETS, rate);
    if (!clean(t)) {
      bad = rate;
      break;
    }
    good = t;
  }
  if (good === undefined) {
    throw new Error(`${receiver.name}: loses lines at ${START_RATE} packets/s`);
  }
  for (let step = 0; step < 4 && bad <= MAX_RATE; step++) {
    const rate = Math.round((good.rate + bad) / 2);
    const t = await trial(receiver, PROBE_PACKETS, rate);
    if (clean(t)) good = t;
    else bad = rate;
  }
  // A long run meets more stalls than a probe (the kernel's default socket
  // buffer overflows on a pause): step down until one is clean.
  let rate = good.rate;
  for (let attempt = 0; attempt < 8; attempt++) {
    const t = await trial(receiver, CONFIRM_PACKETS, rate);
    if (clean(t)) return t;
    rate = Math.round(rate * 0.85);
  }
  throw new Error(`${receiver.name}: no clean confirmation run`);
}

// ---- record path, in-process ----------------------------------------------

async function recordPath(): Promise<{ parse: number; record: number }> {
  const packet = new TextEncoder().encode(PACKET_TEXT);
  const iterations = 200_000;
  let sink = 0;
  const bareParser = new StatsdParser({
    line(line) {
      sink += line.values.length;
    },
    reject() {
      throw new Error("the bench lines must parse");
    },
  });
  const registry = new Registry();
  const recorder = new StatsdRecorder(registry, {
    setWindowSeconds: 60,
    maxMetrics: 10_000,
    now: () => performance.now(),
  });
  const parser = new StatsdParser(recorder);
  const time = (p: StatsdParser) => {
    for (let i = 0; i < 20_000; i++) p.parse(packet); // warm-up
    const start = performance.now();
    for (let i = 0; i < iterations; i++) p.parse(packet);
    return (performance.now() - start) * 1e6 / (iterations * LINES_PER_PACKET);
  };
  const parse = time(bareParser);
  const record = time(parser);
  if (recorder.rejectedLines > 0 || sink === 0) throw new Error("bad bench");
  await registry.close();
  return { parse, record };
}

// ---- main -------------------------------------------------------------------

if (Deno.args[0] === "--send") {
  await send(Number(Deno.args[1]), Number(Deno.args[2]), Number(Deno.args[3]));
} else {
  const results: { name: string; t: Trial }[] = [];
  for (const make of [bare, vigil]) {
    const receiver = await make();
    try {
      results.push({ name: receiver.name, t: await highestRate(receiver) });
    } finally {
      await receiver.close();
    }
  }
  const base = results[0]!.t;
  const perSecond = (t: Trial) => t.sent / t.seconds;
  const rows = results.map(({ name, t }) => [
    name,
    `${Math.round(t.rate * LINES_PER_PACKET).toLocaleString("en")}`,
    `${Math.round(perSecond(t)).toLocaleString("en")}`,
    `${t.counted.toLocaleString("en")} / ${t.sent.toLocaleString("en")}`,
    `${(perSecond(t) / perSecond(base) * 100).toFixed(0)} %`,
  ]);
  const header = [
    "receiver",
    "paced lines/s",
    "achieved lines/s",
    "counted / sent (200k packets)",
    "vs bare",
  ];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]!.length))
  );
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  const { parse, record } = await recordPath();
  console.log(
    `\nrecord path, in-process, 10-line DogStatsD packets: parse only ${
      parse.toFixed(0)
    } ns/line; parse + map + record ${record.toFixed(0)} ns/line (record ${
      (record - parse).toFixed(0)
    } ns/line)`,
  );
}
