// deno task probe: exit 0 for a 2xx answer, 1 for anything else or none,
// 1 for bad arguments too (Docker reserves 2); run as a user runs it.
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

async function runProbe(
  args: string[],
): Promise<{ code: number; stderr: string }> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "probe", ...args],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

Deno.test("deno task probe exits 0 on 2xx, 1 on other answers, no answer in time or no server, 2 on bad arguments", async () => {
  let status = 200;
  let hang = false;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async () => {
      if (hang) await new Promise((resolve) => setTimeout(resolve, 3000));
      return new Response("x", { status });
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}/health/live`;
  try {
    assert.equal((await runProbe([url])).code, 0);
    status = 503;
    const down = await runProbe([url]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /answered 503/);
    status = 302;
    assert.equal((await runProbe([url])).code, 1, "a redirect is no 2xx");
    status = 200;
    hang = true;
    assert.equal((await runProbe(["--timeout", "200", url])).code, 1);
    hang = false;
    const bad = await runProbe(["not a url"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /usage: deno task probe/);
    assert.equal((await runProbe([])).code, 1);
  } finally {
    await server.shutdown();
  }
  // Nothing listens there any more.
  assert.equal((await runProbe([url])).code, 1);
});
