// The command as a user runs it: a real process, a real port, real signals.
import assert from "node:assert/strict";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;
const PERMISSIONS = [
  "--allow-net=127.0.0.1",
  "--allow-env=VIGIL_PORT,VIGIL_HOSTNAME",
];

function start(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, CLI, ...args],
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

Deno.test("The CLI serves /metrics and /health/live, and exits 0 on SIGTERM", async () => {
  const child = start(["--port", "0"]);
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
  child.kill("SIGTERM");
  const status = await child.status;
  assert.equal(status.code, 0);
  await child.stderr.cancel();
});

Deno.test("The CLI reads VIGIL_PORT and VIGIL_HOSTNAME", async () => {
  const child = start([], { VIGIL_PORT: "0", VIGIL_HOSTNAME: "127.0.0.1" });
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
