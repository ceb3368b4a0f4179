import assert from "node:assert/strict";
import type { LogFields, Logger } from "../../src/base/log.ts";
import {
  addBreadcrumb,
  captureException,
  closeErrorTracking,
  initErrorTracking,
  setUser,
  trackErrors,
} from "../../src/errors/mod.ts";
import { logContextStorage } from "../../src/logging/context.ts";
import { Registry } from "../../src/metrics/registry.ts";
import { closedPort, startReceiver } from "./_receiver.ts";

interface Line {
  readonly level: string;
  readonly message: string;
  readonly fields: LogFields | undefined;
}

function recordingLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const log = (level: string) => (message: string, fields?: LogFields) => {
    lines.push({ level, message, fields });
  };
  return {
    lines,
    debug: log("debug"),
    info: log("info"),
    warn: log("warning"),
    error: log("error"),
  };
}

/** The value of one sample of the registry's text exposition. */
async function sample(registry: Registry, line: string): Promise<number> {
  const text = await registry.metrics();
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

Deno.test("initErrorTracking() sends events with tags, user, context and breadcrumbs, and no planted secret", async () => {
  // Built at run time: the events carry the test's source lines around
  // each frame, where literal secrets would be seen (they are URL-masked,
  // but a bare password in code is not a key/value the rule can see).
  const planted = (name: string) => `${name}-${crypto.randomUUID()}`;
  const secrets = {
    crumbToken: planted("crumb-token"),
    crumbPassword: planted("crumb-password"),
    messageKey: planted("message-key"),
    extraPassword: planted("extra-password"),
    authorization: planted("authorization"),
    urlPassword: planted("url-password"),
  };
  const receiver = startReceiver();
  const registry = new Registry();
  try {
    const tracking = initErrorTracking({
      dsn: receiver.dsn,
      environment: "test",
      release: "vigil@test",
      registry,
      env: () => undefined,
    });
    assert.equal(tracking.enabled, true);
    setUser({ id: "u-17", username: "ann" });
    addBreadcrumb({
      category: "auth",
      message: `Logged in via https://idp/cb?token=${secrets.crumbToken}`,
      data: { password: secrets.crumbPassword, step: 2 },
    });
    logContextStorage.run({ request_id: "req-42" }, () => {
      captureException(
        new Error(
          `Upstream https://api.example/x?api_key=${secrets.messageKey} failed`,
        ),
        {
          component: "billing",
          tags: { region: "eu" },
          extra: { password: secrets.extraPassword, order: 17 },
          contexts: {
            request: {
              headers: { Authorization: `Bearer ${secrets.authorization}` },
            },
            order: {
              id: 17,
              dsn: `postgres://app:${secrets.urlPassword}@db/x`,
            },
          },
        },
      );
    });
    assert.equal(await closeErrorTracking(5000), true);

    const events = receiver.items("event");
    assert.equal(events.length, 1);
    // deno-lint-ignore no-explicit-any
    const event = events[0]!.payload as Record<string, any>;
    assert.equal(event.environment, "test");
    assert.equal(event.release, "vigil@test");
    assert.equal(event.tags.request_id, "req-42");
    assert.equal(event.tags.component, "billing");
    assert.equal(event.tags.region, "eu");
    assert.deepEqual(event.user, { id: "u-17", username: "ann" });
    assert.equal(event.extra.order, 17);
    assert.equal(event.contexts.order.id, 17);
    assert.equal(event.exception.values[0].type, "Error");
    assert.match(
      event.exception.values[0].value,
      /^Upstream https:\/\/api\.example\/x\?api_key=\[REDACTED\] failed$/,
    );
    const crumb = event.breadcrumbs.find((b: { category?: string }) =>
      b.category === "auth"
    );
    assert.equal(crumb.data.step, 2);
    assert.equal(crumb.data.password, "[REDACTED]");
    assert.equal(event.extra.password, "[REDACTED]");
    assert.equal(
      event.contexts.request.headers.Authorization,
      "[REDACTED]",
    );
    // Nothing planted leaves, anywhere in any envelope.
    const everything = receiver.envelopes.map((e) => e.raw).join("\n");
    for (const secret of Object.values(secrets)) {
      const at = everything.indexOf(secret);
      assert.ok(at < 0, `sent: ${everything.slice(at - 200, at + 50)}`);
    }
    assert.equal(
      await sample(
        registry,
        'errors_total{type="Error",component="billing"}',
      ),
      1,
    );
    assert.equal(
      await sample(
        registry,
        'vigil_error_reports_failed_total{reason="network"}',
      ),
      0,
    );
  } finally {
    await closeErrorTracking(100);
    await receiver.close();
    await registry.close();
  }
});

Deno.test("trackErrors() captures and rethrows from sync and async functions and decorated methods, counting errors_total", async () => {
  const receiver = startReceiver();
  const registry = new Registry();
  try {
    initErrorTracking({ dsn: receiver.dsn, registry, env: () => undefined });
    const sync = trackErrors((text: string) => JSON.parse(text));
    assert.throws(() => sync("{"), SyntaxError);
    assert.deepEqual(sync("[1]"), [1]);
    const failing = new TypeError("bad shape");
    const async = trackErrors(async () => {
      await Promise.resolve();
      throw failing;
    });
    await assert.rejects(async(), (error) => error === failing);

    class Jobs {
      constructor(readonly name: string) {}
      @trackErrors
      run(): string {
        throw new RangeError(`no job ${this.name}`);
      }
      @trackErrors
      async ok(): Promise<string> {
        await Promise.resolve();
        return this.name;
      }
    }
    assert.throws(() => new Jobs("a").run(), RangeError);
    assert.equal(await new Jobs("b").ok(), "b");
    assert.equal(await closeErrorTracking(5000), true);

    assert.equal(
      await sample(
        registry,
        'errors_total{type="SyntaxError",component="app"}',
      ),
      1,
    );
    assert.equal(
      await sample(registry, 'errors_total{type="TypeError",component="app"}'),
      1,
    );
    assert.equal(
      await sample(registry, 'errors_total{type="RangeError",component="run"}'),
      1,
    );
    const types = receiver.items("event").map((item) =>
      // deno-lint-ignore no-explicit-any
      (item.payload as Record<string, any>).exception.values[0].type
    ).sort();
    assert.deepEqual(types, ["RangeError", "SyntaxError", "TypeError"]);
  } finally {
    await closeErrorTracking(100);
    await receiver.close();
    await registry.close();
  }
});

Deno.test("an unreachable Sentry is counted in vigil_error_reports_failed_total and logged once, never thrown", async () => {
  const registry = new Registry();
  const logger = recordingLogger();
  try {
    initErrorTracking({
      dsn: `http://key@127.0.0.1:${closedPort()}/42`,
      registry,
      logger,
      env: () => undefined,
    });
    captureException(new Error("first"));
    captureException(new Error("second"));
    // The upload failed: nothing left to send, so the flush is done.
    await closeErrorTracking(3000);
    const failed = await sample(
      registry,
      'vigil_error_reports_failed_total{reason="network"}',
    );
    assert.equal(failed, 2);
    const reported = logger.lines.filter((line) =>
      line.fields?.event === "errors.report_failed"
    );
    assert.equal(reported.length, 1);
    assert.equal(reported[0]!.level, "warning");
    assert.equal(
      await sample(registry, 'errors_total{type="Error",component="app"}'),
      2,
    );
  } finally {
    await closeErrorTracking(100);
    await registry.close();
  }
});

Deno.test("a Sentry that never answers is counted as a timeout within uploadTimeoutMs", async () => {
  const registry = new Registry();
  const logger = recordingLogger();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    initErrorTracking({
      dsn: `http://key@127.0.0.1:${(listener.addr as Deno.NetAddr).port}/42`,
      registry,
      logger,
      uploadTimeoutMs: 200,
      env: () => undefined,
    });
    captureException(new Error("slow"));
    await closeErrorTracking(3000);
    assert.equal(
      await sample(
        registry,
        'vigil_error_reports_failed_total{reason="timeout"}',
      ),
      1,
    );
  } finally {
    await closeErrorTracking(100);
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
    await registry.close();
  }
});

Deno.test("initErrorTracking() reads SENTRY_* variables, explicit options win, and is a no-op without a DSN", async (t) => {
  await t.step("no DSN: a handle that does nothing", async () => {
    const registry = new Registry();
    const tracking = initErrorTracking({ registry, env: () => undefined });
    assert.equal(tracking.enabled, false);
    assert.equal(tracking.captureException(new Error("x")), undefined);
    assert.equal(await tracking.close(), true);
    assert.doesNotMatch(await registry.metrics(), /^# TYPE errors_total/m);
    await registry.close();
  });
  await t.step("environment variables and explicit options", async () => {
    const receiver = startReceiver();
    const env: Record<string, string> = {
      SENTRY_DSN: receiver.dsn,
      SENTRY_ENVIRONMENT: "staging",
      SENTRY_RELEASE: "from-env",
      SENTRY_TRACES_SAMPLE_RATE: "0.5",
    };
    try {
      const tracking = initErrorTracking({
        release: "explicit",
        env: (name) => env[name],
      });
      tracking.captureException(new Error("configured"));
      assert.equal(await tracking.close(5000), true);
      const event = receiver.items("event")[0]!.payload;
      assert.equal(event.environment, "staging");
      assert.equal(event.release, "explicit");
    } finally {
      await closeErrorTracking(100);
      await receiver.close();
    }
  });
  await t.step("bad rates and DSNs fail fast, without the key", () => {
    assert.throws(
      () =>
        initErrorTracking({
          dsn: "http://k@127.0.0.1:1/42",
          env: (name) =>
            name === "SENTRY_TRACES_SAMPLE_RATE" ? "lots" : undefined,
        }),
      /SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1, got "lots"/,
    );
    assert.throws(
      () => initErrorTracking({ dsn: "not a dsn", env: () => undefined }),
      TypeError,
    );
  });
});
