/**
 * Slow and idle clients: what connections that never finish their request
 * headers, and keep-alive connections that go silent, cost the Vigil server,
 * and whether it ever closes them. `Deno.serve` has no header-read timeout
 * and no keep-alive idle timeout to configure; this measures what that
 * means.
 *
 * The server (`bench/_slow_clients_server.ts`: `serve()` and a `Registry`)
 * runs in a child process, fresh for each phase, so its memory is measured
 * apart from the clients'. It reports its RSS on a side channel (stdin and
 * stdout), since reading `/proc/<pid>/status` takes `--allow-all` in Deno.
 *
 * 1. Slow headers: N connections each send a request line, then about
 *    60 KB of header lines over the first seconds, then a short header line
 *    every few seconds (slowloris), never the blank line that ends the
 *    headers.
 * 2. Idle keep-alive: N connections each complete one `GET /health/live`,
 *    read the whole response, then stay silent.
 *
 * At each checkpoint (10, 30 and 60 s after the N connections are open) it
 * records the server's RSS, how many connections the server closed (the
 * client read end-of-stream or a reset, or got a response), and whether
 * the server still answers `/health/live` on a new connection.
 *
 * Run from the repository root with:
 *
 *     ulimit -n 4096 && deno run --allow-net=127.0.0.1 --allow-run=deno bench/slow_clients.ts
 *
 * Both processes hold N sockets plus their own files, so the soft limit on
 * open files (`ulimit -n`, often 1024) must exceed N by some margin; the
 * child inherits it. About 2 minutes at the defaults. Options, after the
 * script's name: `--connections=1000`, `--checkpoints=10,30,60` (seconds),
 * `--header-bytes=61440`, and `--quick` (100 connections, checkpoints at 1,
 * 2 and 3 s: checks that the script works, its figures mean nothing). Only
 * 127.0.0.1 is connected to; every socket is closed and the server stopped
 * at the end, and the server exits by itself if this script dies.
 *
 * @module
 */
import {
  count,
  print,
  printCommand,
  printHeader,
  QUICK,
  quick,
  sleep,
  table,
} from "./_helpers.ts";

const COMMAND =
  "ulimit -n 4096 && deno run --allow-net=127.0.0.1 --allow-run=deno bench/slow_clients.ts";

const HOST = "127.0.0.1";
/** More connections than this are refused: every loop stays bounded. */
const MAX_CONNECTIONS = 10_000;
/** Connections opened at once. */
const OPEN_CONCURRENCY = 50;
/** Bytes of each padding header line, CRLF included. */
const HEADER_LINE_BYTES = 2048;

interface Settings {
  connections: number;
  /** Seconds after the connections are open. */
  checkpoints: number[];
  /** Header bytes each slow client sends, about. */
  headerBytes: number;
  /** Seconds over which the slow clients send their header bytes. */
  rampSeconds: number;
  /** Seconds between the short header lines sent after the ramp. */
  trickleSeconds: number;
}

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return Deno.args.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

function settings(): Settings {
  const connections = Number(option("connections") ?? quick(1000, 100));
  const checkpoints = (option("checkpoints") ?? quick("10,30,60", "1,2,3"))
    .split(",").map(Number);
  const headerBytes = Number(option("header-bytes") ?? 61_440);
  if (
    !Number.isInteger(connections) || connections < 1 ||
    connections > MAX_CONNECTIONS
  ) {
    throw new RangeError(
      `Cannot run: --connections must be an integer from 1 to ${MAX_CONNECTIONS}, got ${connections}`,
    );
  }
  if (
    checkpoints.some((s, i) =>
      !Number.isFinite(s) || s <= 0 || s > 600 || s <= (checkpoints[i - 1] ?? 0)
    )
  ) {
    throw new RangeError(
      `Cannot run: --checkpoints must be ascending seconds from 0 to 600, got ${checkpoints}`,
    );
  }
  if (!Number.isInteger(headerBytes) || headerBytes < HEADER_LINE_BYTES) {
    throw new RangeError(
      `Cannot run: --header-bytes must be an integer of at least ${HEADER_LINE_BYTES}, got ${headerBytes}`,
    );
  }
  return {
    connections,
    checkpoints,
    headerBytes,
    // The header bytes are all sent before the first checkpoint.
    rampSeconds: Math.min(5, checkpoints[0]! / 2),
    trickleSeconds: quick(5, 0.5),
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

// --- the server process -------------------------------------------------------

/** The server in its child process, with its side channel. */
class ServerProcess {
  #port = 0;
  readonly #child: Deno.ChildProcess;
  readonly #exited: Promise<true>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    // Waiting on the child takes a file descriptor for its signal: taken now,
    // before the clients may have used up the limit.
    this.#exited = child.status.then(() => true);
    this.#stdin = child.stdin.getWriter();
    this.#lines = readLines(child.stdout)[Symbol.asyncIterator]();
  }

  /** Starts the server and waits until it listens. */
  static async start(): Promise<ServerProcess> {
    const script = new URL("./_slow_clients_server.ts", import.meta.url);
    const server = new ServerProcess(
      new Deno.Command("deno", {
        args: [
          "run",
          `--allow-net=${HOST}`,
          decodeURIComponent(script.pathname),
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn(),
    );
    const first = await withTimeout(server.#lines.next(), 30_000, "start");
    const match = first.done ? null : /^ready (\d+)$/.exec(first.value);
    if (match === null) {
      await server.stop();
      throw new Error(
        `Cannot run: the server did not start: ${
          first.done
            ? "it exited without a word"
            : `it printed ${JSON.stringify(first.value)}`
        }`,
      );
    }
    server.#port = Number(match[1]);
    return server;
  }

  /** The port it listens on. */
  get port(): number {
    return this.#port;
  }

  /** The server's resident set size, bytes. */
  async rss(): Promise<number> {
    await this.#stdin.write(encoder.encode("rss\n"));
    const line = await withTimeout(this.#lines.next(), 10_000, "rss");
    const match = line.done ? null : /^rss (\d+)$/.exec(line.value);
    if (match === null) {
      throw new Error(
        `Cannot read the server's RSS: it answered ${
          JSON.stringify(line.value)
        }`,
      );
    }
    return Number(match[1]);
  }

  /** Closes the side channel, which stops the server; kills it if it lingers. */
  async stop(): Promise<void> {
    // Closing fails only when the child has exited: nothing left to stop.
    await this.#stdin.close().catch(() => undefined);
    const timer = new AbortController();
    const exited = await Promise.race([
      this.#exited,
      pause(3000, timer.signal).then(() => false),
    ]);
    timer.abort();
    if (!exited) {
      this.#child.kill("SIGKILL");
      await this.#exited;
    }
    await this.#lines.return?.();
  }
}

async function* readLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  }
}

async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms: ${what}`)),
      ms,
    );
  });
  // After a timeout the caller closes what `promise` waits on, which then
  // rejects: that rejection is expected, and the timeout already reported.
  promise.catch(() => undefined);
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// --- clients ------------------------------------------------------------------

/** One client connection, watched for the server closing it. */
class Client {
  readonly conn: Deno.TcpConn;
  /** When the server closed it (ms, `performance.now()`), if it did. */
  closedAt: number | undefined;
  /** How: "end of stream", "reset", or the status line it answered. */
  closedHow = "";
  #closing = false;
  #received = "";

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  get open(): boolean {
    return this.closedAt === undefined;
  }

  /** Writes all of `bytes`; a failure means the server closed the socket. */
  async write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    try {
      while (offset < bytes.length && this.open && !this.#closing) {
        offset += await this.conn.write(bytes.subarray(offset));
      }
    } catch (error) {
      this.#serverClosed(error);
    }
  }

  /** Reads one HTTP response with a `content-length`, returns its status line. */
  async readResponse(): Promise<string> {
    const buffer = new Uint8Array(4096);
    let text = "";
    let length = Infinity;
    for (let reads = 0; reads < 64; reads++) {
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const header = /^content-length: *(\d+)/im.exec(text.slice(0, end));
        if (header === null) {
          throw new Error(`Cannot read a response without content-length`);
        }
        length = end + 4 + Number(header[1]);
      }
      if (text.length >= length) return text.slice(0, text.indexOf("\r\n"));
      const n = await this.conn.read(buffer);
      if (n === null) break;
      text += decoder.decode(buffer.subarray(0, n));
    }
    throw new Error(
      `Cannot read a whole response: got ${JSON.stringify(text)}`,
    );
  }

  /**
   * Reads until the server closes the connection or answers it; resolves
   * then, or when this side closes it.
   */
  async watch(): Promise<void> {
    const buffer = new Uint8Array(4096);
    try {
      // Bounded: a server that streams would be closed by `close()`.
      for (let reads = 0; reads < 1_000_000; reads++) {
        const n = await this.conn.read(buffer);
        if (n === null) {
          this.#serverClosed(undefined);
          return;
        }
        if (this.#received.length < 200) {
          this.#received += decoder.decode(buffer.subarray(0, n));
        }
      }
    } catch (error) {
      this.#serverClosed(error);
    }
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  #serverClosed(error: unknown): void {
    if (this.#closing || this.closedAt !== undefined) return;
    this.closedAt = performance.now();
    const answer = this.#received.split("\r\n")[0];
    if (answer) this.closedHow = `answered "${answer}"`;
    else if (error === undefined) this.closedHow = "end of stream";
    else if (error instanceof Error) this.closedHow = error.name;
    else throw error;
  }
}

/**
 * Opens up to `n` connections, `OPEN_CONCURRENCY` at a time, each set up by
 * `prepare`. Stops at the first failure (most likely the open-files limit)
 * and returns it with the connections opened so far.
 */
async function openClients(
  port: number,
  n: number,
  prepare: (client: Client) => Promise<void>,
): Promise<{ clients: Client[]; failure: string | undefined }> {
  const clients: Client[] = [];
  for (let start = 0; start < n; start += OPEN_CONCURRENCY) {
    const batch = Math.min(OPEN_CONCURRENCY, n - start);
    const results = await Promise.allSettled(
      Array.from({ length: batch }, async () => {
        const client = new Client(await Deno.connect({ hostname: HOST, port }));
        clients.push(client);
        await prepare(client);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult =>
      r.status === "rejected"
    );
    if (failed !== undefined) {
      const reason: unknown = failed.reason;
      return {
        clients,
        failure: reason instanceof Error ? reason.message : String(reason),
      };
    }
  }
  return { clients, failure: undefined };
}

/** `GET /health/live` on a new connection: its status line and time. */
async function probeLive(port: number): Promise<string> {
  const t0 = performance.now();
  const connecting = Deno.connect({ hostname: HOST, port });
  let client: Client | undefined;
  try {
    client = new Client(await withTimeout(connecting, 5000, "connect"));
    await client.write(encoder.encode(
      `GET /health/live HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`,
    ));
    const status = await withTimeout(client.readResponse(), 5000, "response");
    const code = status.split(" ")[1] ?? status;
    return `${code} in ${(performance.now() - t0).toFixed(1)} ms`;
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return `**failed**: ${error.message}`;
  } finally {
    if (client !== undefined) client.close();
    // A connect that timed out may still succeed: close it then; if it
    // fails instead, there is nothing to close.
    else connecting.then((conn) => conn.close(), () => undefined);
  }
}

// --- phases -------------------------------------------------------------------

interface Checkpoint {
  label: string;
  open: number;
  closed: number;
  rss: number;
  live: string;
}

interface Phase {
  name: string;
  opened: number;
  baseline: number;
  checkpoints: Checkpoint[];
  /** The server's RSS 1 s after the clients closed their sockets. */
  afterClose: number;
  /** How the server closed connections, and when (s after all were open). */
  closures: string;
}

/** The padding header lines a slow client sends, then the short ones. */
function slowHeaders(bytes: number): Uint8Array[] {
  const lines: Uint8Array[] = [];
  const count = Math.max(1, Math.round(bytes / HEADER_LINE_BYTES));
  for (let i = 0; i < count; i++) {
    const name = `X-Pad-${i}: `;
    const value = "a".repeat(HEADER_LINE_BYTES - name.length - 2);
    lines.push(encoder.encode(`${name}${value}\r\n`));
  }
  return lines;
}

/**
 * Runs one phase against a fresh server: opens the clients, starts `drive`
 * (what the clients send meanwhile), records the checkpoints, then closes
 * everything.
 */
async function runPhase(
  name: string,
  config: Settings,
  prepare: (client: Client) => Promise<void>,
  drive: (clients: Client[], signal: AbortSignal) => Promise<void>,
): Promise<Phase> {
  const server = await ServerProcess.start();
  const clients: Client[] = [];
  const stop = new AbortController();
  let driving: Promise<void> = Promise.resolve();
  try {
    // A first request, so the baseline includes a served request's memory.
    await probeLive(server.port);
    const baseline = await server.rss();
    const opened = await openClients(
      server.port,
      config.connections,
      prepare,
    );
    clients.push(...opened.clients);
    if (opened.failure !== undefined) {
      throw new Error(
        `Cannot run: opened only ${clients.length} of ${config.connections} connections: ${opened.failure}. Raise the open-files limit (\`ulimit -n 4096\`) or lower --connections`,
      );
    }
    const watching = clients.map((client) => client.watch());
    const t0 = performance.now();
    driving = drive(clients, stop.signal);

    const checkpoints: Checkpoint[] = [];
    for (const seconds of config.checkpoints) {
      await sleep(Math.max(0, t0 + seconds * 1000 - performance.now()));
      const open = clients.filter((c) => c.open).length;
      checkpoints.push({
        label: `${seconds} s`,
        open,
        closed: clients.length - open,
        rss: await server.rss(),
        live: await probeLive(server.port),
      });
    }

    stop.abort();
    await driving;
    for (const client of clients) client.close();
    await Promise.all(watching);
    await sleep(1000);
    const afterClose = await server.rss();

    const closed = clients.filter((c) => !c.open);
    const kinds = new Map<string, number[]>();
    for (const c of closed) {
      const times = kinds.get(c.closedHow) ?? [];
      times.push((c.closedAt! - t0) / 1000);
      kinds.set(c.closedHow, times);
    }
    const closures = closed.length === 0 ? "none" : [...kinds].map(
      ([how, times]) =>
        `${times.length} ${how}, from ${Math.min(...times).toFixed(1)} to ${
          Math.max(...times).toFixed(1)
        } s`,
    ).join("; ");
    return {
      name,
      opened: clients.length,
      baseline,
      checkpoints,
      afterClose,
      closures,
    };
  } finally {
    stop.abort();
    await driving;
    for (const client of clients) client.close();
    await server.stop();
  }
}

/** Slowloris: the header lines over the ramp, then a short one now and then. */
function slowDrive(config: Settings) {
  return async (clients: Client[], signal: AbortSignal): Promise<void> => {
    const lines = slowHeaders(config.headerBytes);
    const gap = config.rampSeconds * 1000 / lines.length;
    for (const line of lines) {
      if (signal.aborted) return;
      await Promise.all(
        clients.filter((c) => c.open).map((c) => c.write(line)),
      );
      await pause(gap, signal);
    }
    const last = config.checkpoints.at(-1)!;
    const trickles = Math.ceil(last / config.trickleSeconds) + 1;
    for (let i = 0; i < trickles && !signal.aborted; i++) {
      await pause(config.trickleSeconds * 1000, signal);
      const line = encoder.encode(`X-Trickle-${i}: 1\r\n`);
      await Promise.all(
        clients.filter((c) => c.open).map((c) => c.write(line)),
      );
    }
  };
}

// --- main ---------------------------------------------------------------------

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function rows(phase: Phase, connections: number): (string | number)[][] {
  const growth = (rss: number) => rss - phase.baseline;
  const perConnection = (rss: number) =>
    phase.opened === 0 ? "-" : (growth(rss) / phase.opened / 1024).toFixed(1);
  return [
    [phase.name, "before", 0, "-", mib(phase.baseline), "-", "-", "-"],
    ...phase.checkpoints.map((c) => [
      phase.name,
      c.label,
      `${c.open} of ${connections}`,
      c.closed,
      mib(c.rss),
      `+${mib(growth(c.rss))}`,
      perConnection(c.rss),
      c.live,
    ]),
    [
      phase.name,
      "clients gone, +1 s",
      0,
      "-",
      mib(phase.afterClose),
      `+${mib(growth(phase.afterClose))}`,
      "-",
      "-",
    ],
  ];
}

const config = settings();
printHeader("Vigil server: slow and idle clients");

const slowRequestLine = encoder.encode(
  `GET /health/live HTTP/1.1\r\nHost: ${HOST}\r\n`,
);
const slow = await runPhase(
  "slow headers",
  config,
  (client) => client.write(slowRequestLine),
  slowDrive(config),
);
const idleRequest = encoder.encode(
  `GET /health/live HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
);
const idle = await runPhase(
  "idle keep-alive",
  config,
  async (client) => {
    await client.write(idleRequest);
    const status = await client.readResponse();
    if (!status.startsWith("HTTP/1.1 200")) {
      throw new Error(`Cannot hold an idle connection: got "${status}"`);
    }
  },
  () => Promise.resolve(),
);

const lineCount = slowHeaders(config.headerBytes).length;
print(
  `${count(config.connections)} connections per phase to a fresh server ` +
    "process (`serve()` and a `Registry` of 10 counter series, 127.0.0.1). " +
    `Slow headers: a request line, then ${lineCount} header lines of ` +
    `${HEADER_LINE_BYTES} bytes (${
      count(lineCount * HEADER_LINE_BYTES)
    } bytes) over ${config.rampSeconds} s, then a ` +
    `short one every ${config.trickleSeconds} s; the blank line that ends ` +
    "the headers never comes. Idle keep-alive: one `GET /health/live` " +
    "answered in full, then silence. Times count from the moment all " +
    "connections were open. Closed by server: the client read end of " +
    "stream, a reset or a response. RSS from the server process " +
    "(`Deno.memoryUsage().rss`), MiB; per connection: growth over the " +
    "baseline / connections, KiB. `/health/live`: a new connection's " +
    "request, answered or not within 5 s.",
);
print();
print(table(
  [
    "phase",
    "after",
    "connections open",
    "closed by server",
    "server RSS (MiB)",
    "growth (MiB)",
    "per connection (KiB)",
    "/health/live",
  ],
  [...rows(slow, config.connections), ...rows(idle, config.connections)],
));
print();
for (const phase of [slow, idle]) {
  print(
    `- ${phase.name}: ${phase.opened} connections; closed by the server: ${phase.closures}.`,
  );
}
print();
printCommand(COMMAND);
if (QUICK) print("(with `--quick`)");
