// What `deno publish` ships: only what a user needs, whatever else lies in
// the project directory.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("deno publish ships the package and nothing a user left in the directory", async () => {
  // A user's own config beside the package must never be published.
  const stray = `${ROOT}vigil.publish-test.yaml`;
  await Deno.writeTextFile(stray, "server:\n  port: 1\n");
  let output: string;
  try {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["publish", "--dry-run", "--allow-dirty"],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    output = new TextDecoder().decode(stdout) +
      new TextDecoder().decode(stderr);
    assert.equal(code, 0, output);
  } finally {
    await Deno.remove(stray);
  }
  const files = [...output.matchAll(/file:\/\/(\S+) \(/g)].map(([, path]) =>
    path!.slice(ROOT.length)
  );
  assert.ok(files.includes("mod.ts"), output);
  assert.ok(files.includes("src/config/default.yaml"));
  assert.ok(files.includes("workers/aggregator.ts"));
  const unexpected = files.filter((file) =>
    !/^(deno\.json|mod\.ts|README\.md|LICENSE|src\/.+|workers\/.+)$/.test(file)
  );
  assert.deepEqual(unexpected, []);
});
