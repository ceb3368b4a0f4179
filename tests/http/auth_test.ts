import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/mod.ts";
import { type AuthConfig, authorize, serve } from "../../src/http/mod.ts";
import { recordingLogger } from "../_tools.ts";
import { rawRequest } from "./_raw.ts";

const encoder = new TextEncoder();

/** Base64 of the UTF-8 bytes of a text, as curl and browsers send it. */
function base64Utf8(text: string): string {
  return btoa(
    Array.from(encoder.encode(text), (b) => String.fromCharCode(b)).join(""),
  );
}

/** A header value as Deno hands it over: one character per byte on the wire. */
function asWire(text: string): string {
  return Array.from(encoder.encode(text), (b) => String.fromCharCode(b)).join(
    "",
  );
}

async function withServer(
  auth: AuthConfig,
  fn: (status: (authorization?: string) => Promise<number>) => Promise<void>,
): Promise<void> {
  const registry = new Registry({ logger: recordingLogger() });
  const server = serve({
    registry,
    port: 0,
    hostname: "127.0.0.1",
    auth,
    logger: recordingLogger(),
  });
  // The header goes out as UTF-8 bytes, which fetch() cannot send.
  const status = async (authorization?: string): Promise<number> => {
    const line = authorization === undefined
      ? ""
      : `\r\nAuthorization: ${authorization}`;
    const response = await rawRequest(
      server.addr.port,
      `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1${line}`,
    );
    return response.status;
  };
  try {
    await fn(status);
  } finally {
    await server.shutdown();
    await registry.close();
  }
}

Deno.test("authorize() compares a non-ASCII bearer token as UTF-8 bytes on a real server", async () => {
  await withServer(
    { type: "bearer", token: "jeton-été-🔑" },
    async (status) => {
      assert.equal(await status("Bearer jeton-été-🔑"), 200);
      assert.equal(await status("Bearer jeton-ete-🔑"), 401);
      assert.equal(await status("Bearer jeton-été-🔒"), 401);
      assert.equal(await status("Bearer jeton-été-"), 401);
      assert.equal(await status("Bearer jeton-été-🔑x"), 401);
      assert.equal(await status(), 401);
    },
  );
});

Deno.test("authorize() compares a non-ASCII basic password as UTF-8 bytes on a real server", async () => {
  await withServer(
    { type: "basic", username: "José", password: "pässwörd-密码" },
    async (status) => {
      assert.equal(
        await status(`Basic ${base64Utf8("José:pässwörd-密码")}`),
        200,
      );
      assert.equal(
        await status(`Basic ${base64Utf8("José:passwörd-密码")}`),
        401,
      );
      assert.equal(
        await status(`Basic ${base64Utf8("Jose:pässwörd-密码")}`),
        401,
      );
      // The same characters in Latin-1, not UTF-8, are other bytes.
      const latin1 = btoa("José:pässwörd");
      assert.equal(await status(`Basic ${latin1}`), 401);
    },
  );
});

Deno.test("authorize() matches the scheme in any case and skips extra spaces", async (t) => {
  await t.step("bearer", async () => {
    await withServer({ type: "bearer", token: "s3cret" }, async (status) => {
      for (
        const header of [
          "Bearer s3cret",
          "bearer s3cret",
          "BEARER s3cret",
          "bEaReR s3cret",
          "Bearer    s3cret",
        ]
      ) {
        assert.equal(await status(header), 200, header);
      }
      for (const header of ["Basic s3cret", "Bearers3cret", "s3cret"]) {
        assert.equal(await status(header), 401, header);
      }
    });
  });
  await t.step("basic", async () => {
    await withServer(
      { type: "basic", username: "ops", password: "pw" },
      async (status) => {
        const credentials = btoa("ops:pw");
        for (
          const header of [
            `Basic ${credentials}`,
            `basic ${credentials}`,
            `BASIC ${credentials}`,
            `Basic   ${credentials}`,
          ]
        ) {
          assert.equal(await status(header), 200, header);
        }
        assert.equal(await status(`Bearer ${credentials}`), 401);
      },
    );
  });
});

Deno.test("authorize() answers a malformed header 401, never 500", async () => {
  await withServer(
    { type: "basic", username: "ops", password: "pw" },
    async (status) => {
      for (
        const header of [
          "Basic",
          "Basic ",
          "Basic !!!not-base64!!!",
          "Basic b3Bz=cHc=",
          "Basic ✓",
          `Basic ${btoa("ops")}`,
          `Basic ${btoa("ops:pw")}x`,
          "Bearer",
          "",
        ]
      ) {
        assert.equal(await status(header), 401, JSON.stringify(header));
      }
    },
  );
  await withServer({ type: "bearer", token: "t" }, async (status) => {
    for (const header of ["Bearer", "Bearer ", "Basic !!!", "Bearer ✓"]) {
      assert.equal(await status(header), 401, JSON.stringify(header));
    }
  });
});

Deno.test("authorize() called directly: bytes as Deno hands them over, and the 401 response", async () => {
  const auth: AuthConfig = { type: "bearer", token: "tökén" };
  const request = (authorization: string) =>
    new Request("http://localhost/metrics", { headers: { authorization } });
  assert.equal(
    authorize(request(`bearer ${asWire("tökén")}`), auth),
    undefined,
  );
  // "tökén" as a Latin-1 header value: the bytes F6 and E9, not UTF-8.
  const refused = authorize(request("Bearer tökén"), auth);
  assert.equal(refused?.status, 401);
  assert.equal(
    refused?.headers.get("www-authenticate"),
    'Bearer realm="vigil"',
  );
  assert.deepEqual(await refused?.json(), { error: "Unauthorized" });
  const basic = authorize(request("Basic %%%"), {
    type: "basic",
    username: "u",
    password: "p",
  });
  assert.equal(basic?.status, 401);
  assert.equal(
    basic?.headers.get("www-authenticate"),
    'Basic realm="vigil", charset="UTF-8"',
  );
  await basic?.body?.cancel();
  assert.equal(
    authorize(new Request("http://localhost/"), { type: "none" }),
    undefined,
  );
});
