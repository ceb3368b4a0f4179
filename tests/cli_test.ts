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

/** Reads standard output until the first full line. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text.split("\n")[0]!;
}

const TEST_CONFIG = "fixtures/config/cli_test.yaml";

Deno.test("The CLI serves /metrics and /health/live, and exits 0 on SIGTERM", async () => {
  const child = start(["--config", TEST_CONFIG]);
  const line = await firstLine(child.stdout);
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
  const log = await new Response(child.stderr).text();
  assert.match(log, /"msg":"Shutting down: readiness now fails"/);
  assert.match(log, /"msg":"Shut down"/);
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
  const line = await firstLine(child.stdout);
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
