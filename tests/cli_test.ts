// The command as a user runs it: a real process, a real port, real signals.
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * Starts `deno task start` as a user would, so the task's own permission
 * flags are what the server runs with.
 */
function start(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "start", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** A line the server logs: `deno task start` writes JSON lines to stdout. */
type LogLine = Record<string, unknown>;

/**
 * A child's standard output read line by line, nothing lost between reads:
 * the listening line, then the server's JSON log lines.
 */
class OutputLines {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #text = "";
  #done = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next full line; at the end, what is left ("" if nothing). */
  async next(): Promise<string> {
    while (!this.#done && !this.#text.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) this.#done = true;
      else this.#text += value;
    }
    const end = this.#text.indexOf("\n");
    const line = end === -1 ? this.#text : this.#text.slice(0, end);
    this.#text = end === -1 ? "" : this.#text.slice(end + 1);
    return line;
  }

  /** Every line left once the output ends, each parsed as a log line. */
  async logs(): Promise<LogLine[]> {
    const logs: LogLine[] = [];
    for (let line = await this.next(); line !== ""; line = await this.next()) {
      logs.push(JSON.parse(line));
    }
    return logs;
  }
}

/** The log line with this message, checked to be the only one. */
function logged(logs: LogLine[], message: string): LogLine {
  const found = logs.filter((entry) => entry.message === message);
  assert.equal(found.length, 1, JSON.stringify(logs));
  return found[0]!;
}

const TEST_CONFIG = "fixtures/config/cli_test.yaml";

/**
 * The first line and base URL of a server, and the rest of its standard
 * output; its exit and errors if it failed.
 */
async function listening(
  child: Deno.ChildProcess,
): Promise<{ line: string; base: string; output: OutputLines }> {
  const output = new OutputLines(child.stdout);
  const line = await output.next();
  const base = /listening on (http:\/\/\S+) /.exec(line)?.[1];
  if (base !== undefined) return { line, base, output };
  const { code } = await child.status;
  const log = await new Response(child.stderr).text();
  throw new Error(`The server did not start (exit ${code}): ${line}\n${log}`);
}

Deno.test("The CLI serves /metrics and /health/live, and exits 0 on SIGTERM", async () => {
  const child = start(["--config", TEST_CONFIG]);
  const output = new OutputLines(child.stdout);
  const line = await output.next();
  const match = /^Vigil \S+ listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(
    line,
  );
  assert.ok(match, line);
  const base = match[1]!;
  const metrics = await fetch(`${base}/metrics`);
  assert.equal(metrics.status, 200);
  const text = await metrics.text();
  assert.match(text, /^process_resident_memory_bytes \d+$/m);
  assert.match(text, /^vigil_build_info\{version=/m);
  const live = await fetch(`${base}/health/live`);
  assert.equal(live.status, 200);
  await live.body?.cancel();
  const ready = await fetch(`${base}/health/ready`);
  assert.equal(ready.status, 200);
  await ready.body?.cancel();
  child.kill("SIGTERM");
  // During the drain delay readiness fails at once, while the server still
  // answers: load balancers take the pod out before it stops.
  let draining: Response;
  do {
    draining = await fetch(`${base}/health/ready`);
    await draining.body?.cancel();
  } while (draining.status === 200);
  assert.equal(draining.status, 503);
  const stillLive = await fetch(`${base}/health/live`);
  assert.equal(stillLive.status, 200);
  await stillLive.body?.cancel();
  const status = await child.status;
  assert.equal(status.code, 0);
  assert.equal(await new Response(child.stderr).text(), "");
  const logs = await output.logs();
  const stopping = logged(logs, "Shutting down: readiness now fails");
  assert.equal(stopping.event, "app.shutting_down");
  assert.equal(stopping.level, "info");
  assert.equal(stopping.logger, "vigil.app");
  assert.equal(stopping.service, "cli-test");
  assert.equal(stopping.environment, "test");
  assert.equal(stopping.drainDelayMs, 400);
  const stopped = logged(logs, "Shut down");
  assert.equal(stopped.event, "app.stopped");
  assert.equal(stopped.level, "info");
  assert.ok(logs.indexOf(stopping) < logs.indexOf(stopped));
});

Deno.test("The CLI refuses an invalid config with its line, column and key", async () => {
  const { code, stderr } = await start([
    "--config",
    "fixtures/config/invalid/unknown_nested_key.yaml",
  ]).output();
  assert.equal(code, 2);
  assert.equal(
    new TextDecoder().decode(stderr).trim(),
    "vigil: invalid configuration: fixtures/config/invalid/unknown_nested_key.yaml:7:3: server.prot: unknown key (expected one of: port, hostname, aliases, maxBodyBytes, requestTimeoutMs, drainDelayMs, shutdownTimeoutMs, auth)",
  );
});

Deno.test("The CLI refuses a missing config file", async () => {
  const { code, stderr } = await start(["--config", "nowhere.yaml"]).output();
  assert.equal(code, 2);
  assert.match(new TextDecoder().decode(stderr), /nowhere\.yaml/);
});

Deno.test("The CLI reads VIGIL_PORT and VIGIL_HOSTNAME, and flags beat them", async () => {
  const child = start(["--config", TEST_CONFIG, "--hostname", "127.0.0.1"], {
    VIGIL_PORT: "0",
    VIGIL_HOSTNAME: "0.0.0.0",
  });
  const line = await new OutputLines(child.stdout).next();
  assert.match(line, /listening on http:\/\/127\.0\.0\.1:\d+ /);
  child.kill("SIGINT");
  assert.equal((await child.status).code, 0);
  await child.stderr.cancel();
});

Deno.test("The CLI exits 2 with usage on bad flags", async (t) => {
  for (
    const args of [["--port", "http"], ["--port", "70000"], ["--nope"], [
      "extra",
    ]]
  ) {
    await t.step(args.join(" "), async () => {
      const { code, stderr } = await start(args).output();
      assert.equal(code, 2);
      assert.match(
        new TextDecoder().decode(stderr),
        /^vigil: .+\n\nVigil .*\n\nUsage: vigil/,
      );
    });
  }
});

Deno.test("The CLI prints help and exits 0", async () => {
  const { code, stdout } = await start(["--help"]).output();
  assert.equal(code, 0);
  assert.match(new TextDecoder().decode(stdout), /--hostname <host>/);
});

/** The flags of `deno task start`, read from deno.json: one source. */
async function startFlags(): Promise<string[]> {
  const { tasks } = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const words = (tasks.start as string).split(" ");
  return words.slice(2, words.indexOf("src/cli.ts"));
}

/** Runs `src/cli.ts` with hand-written flags, as an embedding user might. */
function runCli(flags: string[], args: string[], cwd = ROOT) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, `${ROOT}src/cli.ts`, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Waits for the listening line, checks one route, stops with SIGTERM. */
async function serveOnce(
  child: Deno.ChildProcess,
  path = "/health/live",
): Promise<{ line: string; body: string; logs: LogLine[] }> {
  const { line, base, output } = await listening(child);
  let body = "";
  if (base.startsWith("http://127.0.0.1:")) {
    const response = await fetch(`${base}${path}`);
    body = await response.text();
  }
  child.kill("SIGTERM");
  const status = await child.status;
  const stderr = await new Response(child.stderr).text();
  const logs = await output.logs();
  assert.equal(status.code, 0, `${stderr}\n${JSON.stringify(logs)}`);
  return { line, body, logs };
}

async function writeConfig(dir: string, name: string, yaml: string) {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, yaml);
  return path;
}

const QUICK = "server:\n  port: 0\n  drainDelayMs: 0\n";

Deno.test("The CLI reads a config file outside the project, and relative paths from the caller's directory", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const file = await writeConfig(
      dir,
      "vigil.yaml",
      `${QUICK}service:\n  name: from-outside\n`,
    );
    await t.step("an absolute path", async () => {
      const { body } = await serveOnce(
        start(["--config", file]),
        "/system/info",
      );
      assert.equal(JSON.parse(body).service.name, "from-outside");
    });
    await t.step("a path relative to where deno task was called", async () => {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "task",
          "--quiet",
          "--config",
          `${ROOT}deno.json`,
          "start",
          "--config",
          "vigil.yaml",
        ],
        cwd: dir,
        // As a user's shell has it: no INIT_CWD inherited from the task
        // that runs these tests, so deno task sets its own.
        clearEnv: true,
        env: {
          PATH: Deno.env.get("PATH") ?? "",
          HOME: Deno.env.get("HOME") ?? "",
          ...(Deno.env.get("DENO_DIR")
            ? { DENO_DIR: Deno.env.get("DENO_DIR")! }
            : {}),
        },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const { body } = await serveOnce(child, "/system/info");
      assert.equal(JSON.parse(body).service.name, "from-outside");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A health check on another host runs under deno task start, and names its flag under narrower ones", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    // 127.0.0.2 is another host as far as --allow-net=127.0.0.1 goes, yet
    // loopback: nothing leaves the machine. Port 1 refuses connections.
    const file = await writeConfig(
      dir,
      "checks.yaml",
      `${QUICK}health:\n  checks:\n    - { name: db, type: tcp, host: 127.0.0.2, port: 1, intervalMs: 50 }\n`,
    );
    await t.step("deno task start: the check runs", async () => {
      const child = start(["--config", file]);
      const { base } = await listening(child);
      let output: string | undefined;
      while (output === undefined) {
        const report = await (await fetch(`${base}/health/detailed`)).json();
        output = report.components.find((c: { name: string }) =>
          c.name === "db"
        )?.output;
      }
      // It connected for real: refused by the host, not by Deno.
      assert.equal(output, "connection refused");
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0);
      await child.stderr.cancel();
    });
    await t.step(
      "--allow-net=127.0.0.1: refused at start with the flag",
      async () => {
        const flags = (await startFlags()).map((flag) =>
          flag === "--allow-net" ? "--allow-net=127.0.0.1" : flag
        );
        const { code, stderr, stdout } = await runCli(flags, ["--config", file])
          .output();
        assert.equal(code, 2);
        assert.equal(new TextDecoder().decode(stdout), "");
        assert.equal(
          new TextDecoder().decode(stderr),
          'vigil: missing permissions: health check "db" (tcp 127.0.0.2:1) needs --allow-net=127.0.0.2:1\n',
        );
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("The CLI gives one line and exits 2 when it cannot listen or read the environment", async (t) => {
  await t.step("a port in use", async () => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const { code, stderr } = await start([
        "--config",
        TEST_CONFIG,
        "--port",
        String(taken.addr.port),
      ]).output();
      assert.equal(code, 2);
      assert.equal(
        new TextDecoder().decode(stderr),
        `vigil: cannot listen on 127.0.0.1:${taken.addr.port}: the address is in use (choose another port with --port or server.port)\n`,
      );
    } finally {
      taken.close();
    }
  });
  await t.step("an address of no interface here", async () => {
    const { code, stderr } = await start([
      "--config",
      TEST_CONFIG,
      "--hostname",
      "192.0.2.1",
    ]).output();
    assert.equal(code, 2);
    assert.match(
      new TextDecoder().decode(stderr),
      /^vigil: cannot listen on 192\.0\.2\.1:0: no interface of this machine has that address \(--hostname or server\.hostname\)\n$/,
    );
  });
  await t.step("--allow-env missing under hand-written flags", async () => {
    const flags = (await startFlags()).filter((flag) =>
      !flag.startsWith("--allow-env")
    );
    const { code, stderr } = await runCli(flags, ["--config", TEST_CONFIG])
      .output();
    assert.equal(code, 2);
    assert.match(
      new TextDecoder().decode(stderr),
      /^vigil: reading the environment overrides needs --allow-env=VIGIL_PORT,\S+ \(not granted: VIGIL_PORT, .+\)\n$/,
    );
  });
});

Deno.test("The CLI listens on localhost and on ::", async (t) => {
  await t.step("--hostname localhost", async () => {
    const { line, body } = await serveOnce(
      start(["--config", TEST_CONFIG, "--hostname", "localhost"]),
    );
    assert.match(line, /listening on http:\/\/127\.0\.0\.1:\d+ /);
    assert.equal(JSON.parse(body).status, "pass");
  });
  await t.step("--hostname ::", async () => {
    const { line } = await serveOnce(
      start(["--config", TEST_CONFIG, "--hostname", "::"]),
    );
    assert.match(line, /listening on http:\/\/\[::\]:\d+ /);
  });
});

Deno.test("Without read access to its workers the CLI aggregates on the main thread, saying so once", async () => {
  const flags = (await startFlags()).map((flag) =>
    flag === "--allow-read"
      ? `--allow-read=${ROOT}${TEST_CONFIG},${ROOT}src/config`
      : flag
  );
  const child = runCli(flags, ["--config", TEST_CONFIG]);
  const { base, output } = await listening(child);
  // The server's own request-latency histogram needs the aggregation.
  await (await fetch(`${base}/health`)).body?.cancel();
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(
    metrics,
    /^http_request_duration_seconds_count\{method="GET",route="\/health"\} 1$/m,
  );
  assert.match(metrics, /^vigil_worker_restarts_total 0$/m);
  child.kill("SIGTERM");
  assert.equal((await child.status).code, 0);
  assert.equal(await new Response(child.stderr).text(), "");
  const logs = await output.logs();
  // One message from the pool; the workers check then warns, as it does
  // for any shard on the main thread, and says why.
  const warnings = logs.filter((entry) => entry.level !== "info");
  assert.equal(warnings.length, 2, JSON.stringify(logs));
  assert.equal(warnings[0]!.event, "aggregation.worker_unreadable");
  assert.match(String(warnings[0]!.message), /--allow-read=\S+src,\S+workers/);
  assert.equal(warnings[1]!.event, "health.status_changed");
  assert.equal(
    warnings[1]!.output,
    "on the main thread: shard 0 (its modules may not be read)",
  );
});

Deno.test("A second SIGTERM during the drain exits at once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A drain far longer than the test: only the second signal ends it.
    const file = await writeConfig(
      dir,
      "drain.yaml",
      "server:\n  port: 0\n  drainDelayMs: 600000\n  shutdownTimeoutMs: 900000\n",
    );
    const child = start(["--config", file]);
    const { base, output } = await listening(child);
    child.kill("SIGTERM");
    let ready: Response;
    do {
      ready = await fetch(`${base}/health/ready`);
      await ready.body?.cancel();
    } while (ready.status === 200);
    // Past the window in which a repeat is taken for the same signal
    // delivered twice (terminal group and deno task both send it).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 1);
    assert.equal(await new Response(child.stderr).text(), "");
    const logs = await output.logs();
    const second = logged(
      logs,
      "Second signal during shutdown: exiting at once",
    );
    assert.equal(second.event, "app.second_signal");
    assert.equal(second.level, "warning");
    assert.equal(second.signal, "SIGTERM");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("With tracing on in the file but OTEL_DENO off, deno task start says how to start it, in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-cli-tracing-" });
  try {
    const path = await writeConfig(
      dir,
      "vigil.yaml",
      `${QUICK}tracing:\n  enabled: true\n  endpoint: http://127.0.0.1:4318\n`,
    );
    const child = start(["--config", path], { OTEL_DENO: "false" });
    const { output } = await listening(child);
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    await output.logs();
    assert.equal(
      await new Response(child.stderr).text(),
      "vigil: tracing is enabled in the configuration, but Deno exports spans only when it starts with OTEL_DENO=true: run OTEL_DENO=true OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 deno task start\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
