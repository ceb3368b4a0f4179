// Embedding from a local checkout, as the README shows: an application's
// deno.json links this directory, and imports resolve as from JSR.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

Deno.test("An application embeds Vigil from a checkout through deno.json links", async () => {
  const app = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${app}/deno.json`,
      JSON.stringify({
        imports: { "@vigil/observe": "jsr:@vigil/observe@^0.1.0" },
        links: [ROOT],
      }),
    );
    await Deno.writeTextFile(
      `${app}/main.ts`,
      `import { Registry } from "@vigil/observe";
import { serve } from "@vigil/observe/server";
const registry = new Registry();
registry.histogram({ name: "job_seconds", help: "Jobs" }).observe(0.2);
const server = serve({ registry, port: 0 });
const text = await (await fetch(\`http://127.0.0.1:\${server.addr.port}/metrics\`)).text();
console.log(JSON.stringify({
  count: /^job_seconds_count (\\S+)$/m.exec(text)?.[1],
  workers: registry.workers().map((w) => w.inThread),
}));
await server.shutdown();
await registry.close();
`,
    );
    // The permissions the README lists for an embedding program.
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        `--allow-read=${ROOT}/src,${ROOT}/workers`,
        "main.ts",
      ],
      cwd: app,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 0, err);
    const lines = new TextDecoder().decode(stdout).trim().split("\n");
    // Workers ran for real: the module graph was readable.
    const { count, workers } = JSON.parse(lines.at(-1)!);
    assert.equal(count, "1");
    assert.ok(workers.length > 0 && !workers.includes(true), lines.at(-1));
  } finally {
    await Deno.remove(app, { recursive: true });
  }
});
