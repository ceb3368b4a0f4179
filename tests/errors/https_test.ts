// An https DSN: the upload transport's TLS path, against a receiver with a
// certificate from a test authority the child trusts through DENO_CERT.
import assert from "node:assert/strict";
import { ignoreWithout } from "../_tools.ts";

async function openssl(args: string[], cwd: string): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(new TextDecoder().decode(stderr));
}

Deno.test({
  name: "an https DSN reports over TLS to a receiver the child trusts",
  ignore: await ignoreWithout("openssl", "apt-get install openssl", [
    "version",
  ]),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "vigil-tls-" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    await openssl([
      "req",
      "-x509",
      ...ec,
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=Vigil test CA",
    ], dir);
    await openssl([
      "req",
      ...ec,
      "-nodes",
      "-keyout",
      "leaf.key",
      "-out",
      "leaf.csr",
      "-subj",
      "/CN=127.0.0.1",
    ], dir);
    await Deno.writeTextFile(
      `${dir}/leaf.ext`,
      "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    );
    await openssl([
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "leaf.pem",
      "-days",
      "2",
      "-extfile",
      "leaf.ext",
    ], dir);
    const received: string[] = [];
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      cert: await Deno.readTextFile(`${dir}/leaf.pem`),
      key: await Deno.readTextFile(`${dir}/leaf.key`),
      onListen() {},
    }, async (request) => {
      received.push(`${new URL(request.url).pathname} ${await request.text()}`);
      return Response.json({ id: "ok" });
    });
    try {
      const { success, stdout, stderr } = await new Deno.Command(
        Deno.execPath(),
        {
          args: [
            "run",
            "--allow-net=127.0.0.1",
            "--allow-read",
            "--allow-env",
            "--allow-sys",
            new URL("./_https_child.ts", import.meta.url).pathname,
            `https://publickey@127.0.0.1:${server.addr.port}/42`,
          ],
          env: { DENO_CERT: `${dir}/ca.pem` },
          stdout: "piped",
          stderr: "piped",
        },
      ).output();
      const out = new TextDecoder().decode(stdout);
      assert.ok(success, new TextDecoder().decode(stderr));
      const result = JSON.parse(out.trim().split("\n").at(-1)!);
      assert.deepEqual(result, { flushed: true, failed: 0 });
      assert.equal(received.length, 1);
      assert.match(received[0]!, /^\/api\/42\/envelope\/ /);
      assert.match(received[0]!, /over TLS/);
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
