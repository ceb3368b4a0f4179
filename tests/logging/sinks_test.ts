import assert from "node:assert/strict";
import { join } from "node:path";
import type { LogLevel, LogRecord } from "@logtape/logtape";
import { LineQueue } from "../../src/logging/queue.ts";
import { dailyFileSink, stdoutSink } from "../../src/logging/sinks.ts";

const DAY_MS = 86_400_000;

function record(
  timestamp: number,
  message: string,
  level: LogLevel = "info",
): LogRecord {
  return {
    category: ["t"],
    level,
    message: [message],
    rawMessage: message,
    timestamp,
    properties: {},
  };
}

const formatter = (r: LogRecord): string =>
  JSON.stringify({ t: r.timestamp, l: r.level, m: r.message.join("") }) + "\n";

/** The `m` of each line of a file, or `undefined` when it does not exist. */
async function messages(path: string): Promise<string[] | undefined> {
  try {
    const text = await Deno.readTextFile(path);
    return text.split("\n").filter((line) => line !== "").map((line) =>
      JSON.parse(line).m
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** A promise with its resolve function, for writers the test holds up. */
function gate(): { promise: Promise<void>; open: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, open: () => resolve() };
}

const decoder = new TextDecoder();

Deno.test("dailyFileSink() writes 100,000 lines across a UTC midnight, each once, in order, in its day's files", async () => {
  const directory = await Deno.makeTempDir();
  const start = Date.UTC(2024, 5, 30, 23, 59, 59);
  const sink = dailyFileSink({
    directory,
    formatter,
    capacity: 200_000,
    retentionDays: 30,
    now: () => start,
  });
  try {
    const total = 100_000;
    for (let i = 0; i < total; i++) {
      // 50 lines a millisecond: line 50,000 is at 00:00:00.000 on July 1st.
      sink(record(start + i / 50, String(i), i % 7 === 0 ? "error" : "info"));
      // Let the writer run between pushes, so batches meet new lines.
      if (i % 10_000 === 9_999) await new Promise((r) => setTimeout(r, 0));
    }
    await sink.flush();
    const range = (from: number, to: number, keep = (_: number) => true) =>
      Array.from({ length: to - from }, (_, k) => from + k).filter(keep).map(
        String,
      );
    const error = (i: number) => i % 7 === 0;
    assert.deepEqual(
      await messages(join(directory, "app_2024-06-30.log")),
      range(0, 50_000),
    );
    assert.deepEqual(
      await messages(join(directory, "app_2024-07-01.log")),
      range(50_000, total),
    );
    assert.deepEqual(
      await messages(join(directory, "error_2024-06-30.log")),
      range(0, 50_000, error),
    );
    assert.deepEqual(
      await messages(join(directory, "error_2024-07-01.log")),
      range(50_000, total, error),
    );
    const levels = new Set(
      (await Deno.readTextFile(join(directory, "error_2024-07-01.log")))
        .trim().split("\n").map((line) => JSON.parse(line).l),
    );
    assert.deepEqual([...levels], ["error"]);
    assert.deepEqual(
      sink.queues.map((q) => [q.name, q.dropped, q.errors]),
      [["file", 0, 0], ["error_file", 0, 0]],
    );
  } finally {
    await sink[Symbol.asyncDispose]();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("dailyFileSink() puts lines of one batch that span dates in their own files, fatal in the error file", async () => {
  const directory = await Deno.makeTempDir();
  const day = Date.UTC(2024, 0, 1);
  const sink = dailyFileSink({
    directory,
    formatter,
    capacity: 100,
    retentionDays: 30,
  });
  try {
    // Pushed synchronously: one batch would hold all of them.
    sink(record(day - 1, "a"));
    sink(record(day, "b", "fatal"));
    sink(record(day - 1, "c", "warning"));
    sink(record(day + DAY_MS, "d", "debug"));
    await sink.flush();
    assert.deepEqual(
      await messages(join(directory, "app_2023-12-31.log")),
      ["a", "c"],
    );
    assert.deepEqual(
      await messages(join(directory, "app_2024-01-01.log")),
      ["b"],
    );
    assert.deepEqual(
      await messages(join(directory, "app_2024-01-02.log")),
      ["d"],
    );
    assert.deepEqual(
      await messages(join(directory, "error_2024-01-01.log")),
      ["b"],
    );
    assert.equal(await exists(join(directory, "error_2023-12-31.log")), false);
  } finally {
    await sink[Symbol.asyncDispose]();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("dailyFileSink() appends to an existing file of the day", async () => {
  const directory = await Deno.makeTempDir();
  const path = join(directory, "app_2024-01-01.log");
  await Deno.writeTextFile(path, formatter(record(0, "before")));
  const sink = dailyFileSink({
    directory,
    formatter,
    capacity: 10,
    retentionDays: 30,
  });
  try {
    sink(record(Date.UTC(2024, 0, 1, 8), "after"));
    await sink.flush();
    assert.deepEqual(await messages(path), ["before", "after"]);
  } finally {
    await sink[Symbol.asyncDispose]();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("dailyFileSink() removes app and error files older than retentionDays and nothing else", async () => {
  const directory = await Deno.makeTempDir();
  const kept = [
    "app_2024-02-14.log", // 30 days before: not more than retentionDays
    "error_2024-03-01.log",
    "notes.txt",
    "app_2024-02-30.log", // not a date
    "app_2024-01-01.log.gz",
    "other_2024-01-01.log",
  ];
  const removed = ["app_2024-02-10.log", "error_2024-02-13.log"];
  for (const name of [...kept, ...removed]) {
    await Deno.writeTextFile(join(directory, name), "old\n");
  }
  await Deno.mkdir(join(directory, "app_2024-01-02.log"));
  const sink = dailyFileSink({
    directory,
    formatter,
    capacity: 10,
    retentionDays: 30,
    now: () => Date.UTC(2024, 2, 15, 12),
  });
  try {
    sink(record(Date.UTC(2024, 2, 15, 12), "x"));
    await sink.flush();
    for (const name of kept) {
      assert.equal(await exists(join(directory, name)), true, name);
    }
    for (const name of removed) {
      assert.equal(await exists(join(directory, name)), false, name);
    }
    assert.equal(await exists(join(directory, "app_2024-01-02.log")), true);
    assert.deepEqual(
      await messages(join(directory, "app_2024-03-15.log")),
      ["x"],
    );
  } finally {
    await sink[Symbol.asyncDispose]();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("dailyFileSink() retention never reaches past the clock, nor past an old record's date", async (t) => {
  const directory = await Deno.makeTempDir();
  const old = join(directory, "app_2024-01-01.log");
  const recent = join(directory, "app_2024-03-10.log");
  await Deno.writeTextFile(old, "old\n");
  await Deno.writeTextFile(recent, "old\n");
  const sink = dailyFileSink({
    directory,
    formatter,
    capacity: 10,
    retentionDays: 30,
    now: () => Date.UTC(2024, 2, 15),
  });
  try {
    await t.step("an old record keeps its own file", async () => {
      sink(record(Date.UTC(2023, 0, 1), "late"));
      await sink.flush();
      assert.deepEqual(
        await messages(join(directory, "app_2023-01-01.log")),
        ["late"],
      );
      assert.equal(await exists(old), true);
    });
    await t.step("a record stamped years ahead counts from today", async () => {
      sink(record(Date.UTC(2030, 0, 1), "skewed"));
      await sink.flush();
      assert.equal(await exists(old), false);
      assert.equal(await exists(join(directory, "app_2023-01-01.log")), false);
      assert.equal(await exists(recent), true);
      assert.deepEqual(
        await messages(join(directory, "app_2030-01-01.log")),
        ["skewed"],
      );
    });
  } finally {
    await sink[Symbol.asyncDispose]();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("dailyFileSink() creates a missing directory and resumes when it is removed", async (t) => {
  const root = await Deno.makeTempDir();
  const directory = join(root, "a", "b", "logs");
  const day = Date.UTC(2024, 0, 1, 10);
  const app = join(directory, "app_2024-01-01.log");
  const sink = dailyFileSink({
    directory,
    formatter,
    capacity: 100,
    retentionDays: 30,
  });
  try {
    await t.step("created when missing", async () => {
      sink(record(day, "first"));
      await sink.flush();
      assert.deepEqual(await messages(app), ["first"]);
    });
    await t.step("recreated after the directory was removed", async () => {
      await Deno.remove(join(root, "a"), { recursive: true });
      sink(record(day, "second", "error"));
      sink(record(day, "third"));
      await sink.flush();
      assert.deepEqual(await messages(app), ["second", "third"]);
      assert.deepEqual(
        await messages(join(directory, "error_2024-01-01.log")),
        ["second"],
      );
    });
    await t.step("reopened after the file was removed", async () => {
      await Deno.remove(app);
      sink(record(day, "fourth"));
      await sink.flush();
      assert.deepEqual(await messages(app), ["fourth"]);
    });
    await t.step("reopened after the file was renamed away", async () => {
      await Deno.rename(app, `${app}.1`);
      sink(record(day, "fifth"));
      await sink.flush();
      assert.deepEqual(await messages(app), ["fifth"]);
      assert.deepEqual(await messages(`${app}.1`), ["fourth"]);
    });
    assert.deepEqual(
      sink.queues.map((q) => [q.dropped, q.errors]),
      [[0, 0], [0, 0]],
    );
  } finally {
    await sink[Symbol.asyncDispose]();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("dailyFileSink() counts a directory it cannot create, reports it once and resumes after", async () => {
  const root = await Deno.makeTempDir();
  const directory = join(root, "logs");
  // A file where the directory should be: mkdir and open fail.
  await Deno.writeTextFile(directory, "in the way\n");
  const reports: string[] = [];
  const day = Date.UTC(2024, 0, 1, 10);
  const sink = dailyFileSink({
    directory,
    formatter,
    capacity: 100,
    retentionDays: 30,
    onError: (name) => reports.push(name),
  });
  try {
    sink(record(day, "lost 1", "error"));
    await sink.flush();
    sink(record(day, "lost 2"));
    await sink.flush();
    assert.deepEqual(reports.toSorted(), ["error_file", "file"]);
    assert.deepEqual(
      sink.queues.map((q) => [q.name, q.dropped, q.errors]),
      [["file", 2, 2], ["error_file", 1, 1]],
    );
    await Deno.remove(directory);
    sink(record(day, "kept"));
    await sink.flush();
    assert.deepEqual(
      await messages(join(directory, "app_2024-01-01.log")),
      ["kept"],
    );
    assert.deepEqual(reports.toSorted(), ["error_file", "file"]);
  } finally {
    await sink[Symbol.asyncDispose]();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LineQueue counts failed writes, reports each failure episode once and resumes", async () => {
  let failing = true;
  const written: string[] = [];
  const reports: [string, unknown][] = [];
  const queue = new LineQueue({
    name: "stdout",
    capacity: 100,
    write: (chunk) => {
      if (failing) return Promise.reject(new Error("disk full"));
      written.push(decoder.decode(chunk));
      return Promise.resolve();
    },
    onError: (name, error) => reports.push([name, error]),
  });
  queue.push("a\n");
  queue.push("b\n");
  await queue.flush();
  queue.push("c\n");
  await queue.flush();
  assert.equal(queue.errors, 2);
  assert.equal(queue.dropped, 3);
  assert.equal(reports.length, 1);
  assert.equal(reports[0]?.[0], "stdout");
  assert.ok(reports[0]?.[1] instanceof Error);
  failing = false;
  queue.push("d\n");
  queue.push("e\n");
  await queue.flush();
  assert.deepEqual(written, ["d\ne\n"]);
  failing = true;
  queue.push("f\n");
  await queue.flush();
  assert.equal(reports.length, 2, "a new episode is reported again");
  assert.equal(queue.errors, 3);
  assert.equal(queue.dropped, 4);
  await queue.close();
});

Deno.test("LineQueue counts a writer that throws synchronously like one that rejects", async () => {
  const queue = new LineQueue({
    name: "stdout",
    capacity: 10,
    write: () => {
      throw new TypeError("not a promise");
    },
  });
  queue.push("a\n");
  await queue.flush();
  assert.equal(queue.errors, 1);
  assert.equal(queue.dropped, 1);
  await queue.close();
});

Deno.test("LineQueue keeps writing when onError throws, and reports the exception", async () => {
  const thrown: unknown[] = [];
  const listener = (event: ErrorEvent) => {
    event.preventDefault();
    thrown.push(event.error);
  };
  globalThis.addEventListener("error", listener);
  try {
    let failing = true;
    const written: string[] = [];
    const queue = new LineQueue({
      name: "stdout",
      capacity: 10,
      write: (chunk) => {
        if (failing) return Promise.reject(new Error("down"));
        written.push(decoder.decode(chunk));
        return Promise.resolve();
      },
      onError: () => {
        throw new Error("broken callback");
      },
    });
    queue.push("a\n");
    await queue.flush();
    failing = false;
    queue.push("b\n");
    await queue.close();
    assert.deepEqual(written, ["b\n"]);
    assert.equal(thrown.length, 1);
    assert.equal((thrown[0] as Error).message, "broken callback");
  } finally {
    globalThis.removeEventListener("error", listener);
  }
});

Deno.test("LineQueue drops and counts lines past its capacity, and writes the kept ones in order", async () => {
  const held = gate();
  const started = gate();
  const written: string[] = [];
  const queue = new LineQueue({
    name: "file",
    capacity: 10,
    write: async (chunk) => {
      started.open();
      await held.promise;
      written.push(decoder.decode(chunk));
    },
  });
  assert.equal(queue.push("0\n"), true);
  await started.promise; // the writer holds line 0
  const accepted: boolean[] = [];
  for (let i = 1; i <= 15; i++) accepted.push(queue.push(`${i}\n`));
  assert.deepEqual(accepted, [
    ...Array<boolean>(10).fill(true),
    ...Array<boolean>(5).fill(false),
  ]);
  assert.equal(queue.dropped, 5);
  held.open();
  await queue.flush();
  assert.equal(
    written.join(""),
    Array.from({ length: 11 }, (_, i) => `${i}\n`).join(""),
  );
  assert.equal(queue.dropped, 5);
  assert.equal(queue.errors, 0);
  await queue.close();
});

Deno.test("LineQueue joins waiting lines into batches of about 64 KiB", async (t) => {
  const sizes: number[] = [];
  const queue = new LineQueue({
    name: "file",
    capacity: 10_000,
    write: (chunk) => {
      sizes.push(chunk.length);
      return Promise.resolve();
    },
  });
  await t.step("small lines: one write", async () => {
    for (let i = 0; i < 1000; i++) queue.push("123456789\n");
    await queue.flush();
    assert.deepEqual(sizes, [10_000]);
  });
  await t.step("1 KiB lines: 64 a batch", async () => {
    sizes.length = 0;
    const line = "x".repeat(1023) + "\n";
    for (let i = 0; i < 200; i++) queue.push(line);
    await queue.flush();
    assert.deepEqual(sizes, [65_536, 65_536, 65_536, 8_192]);
  });
  await t.step("a line longer than a batch is written whole", async () => {
    sizes.length = 0;
    queue.push("y".repeat(100_000) + "\n");
    await queue.flush();
    assert.deepEqual(sizes, [100_001]);
  });
  await queue.close();
});

Deno.test("LineQueue encodes lines as UTF-8", async () => {
  const chunks: Uint8Array[] = [];
  const queue = new LineQueue({
    name: "stdout",
    capacity: 10,
    write: (chunk) => {
      chunks.push(chunk);
      return Promise.resolve();
    },
  });
  queue.push("é\n");
  queue.push("🙂\n");
  await queue.close();
  assert.equal(decoder.decode(chunks[0]), "é\n🙂\n");
});

Deno.test("a sink call returns while the write is pending", async () => {
  const held = gate();
  let writes = 0;
  let done = 0;
  const sink = stdoutSink({
    formatter,
    capacity: 10,
    write: async () => {
      writes++;
      await held.promise;
      done++;
    },
  });
  const result: unknown = sink(record(0, "a"));
  assert.equal(result, undefined);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(writes, 1, "the write started");
  sink(record(1, "b"));
  assert.equal(done, 0, "the sink did not wait for it");
  const flushed = sink.flush();
  held.open();
  await flushed;
  assert.equal(done, 2);
  await sink[Symbol.asyncDispose]();
});

Deno.test("stdoutSink() formats on the calling path and exposes its queue", async () => {
  const out: string[] = [];
  const context = { id: "before" };
  const sink = stdoutSink({
    formatter: (r) => `${context.id} ${r.message.join("")}\n`,
    capacity: 10,
    write: (chunk) => {
      out.push(decoder.decode(chunk));
      return Promise.resolve();
    },
  });
  sink(record(0, "a"));
  context.id = "after"; // formatted already: the change does not show
  await sink.flush();
  assert.deepEqual(out, ["before a\n"]);
  assert.equal(sink.name, "stdout");
  assert.deepEqual(sink.queues.map((q) => q.name), ["stdout"]);
  assert.equal(sink.drain, sink.flush);
  await sink[Symbol.asyncDispose]();
});

Deno.test("closing a sink flushes everything queued and refuses later lines", async () => {
  const directory = await Deno.makeTempDir();
  const sink = dailyFileSink({
    directory,
    formatter,
    capacity: 10_000,
    retentionDays: 30,
  });
  try {
    const day = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 5000; i++) {
      sink(record(day + i, String(i), i % 2 === 0 ? "error" : "info"));
    }
    await sink[Symbol.asyncDispose]();
    const app = await messages(join(directory, "app_2024-01-01.log"));
    const errors = await messages(join(directory, "error_2024-01-01.log"));
    assert.equal(app?.length, 5000);
    assert.equal(errors?.length, 2500);
    sink(record(day, "late", "error"));
    assert.deepEqual(sink.queues.map((q) => q.dropped), [1, 1]);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("LineQueue.close() also writes lines pushed while it flushes", async () => {
  const written: string[] = [];
  const queue = new LineQueue({
    name: "stdout",
    capacity: 10,
    write: (chunk) => {
      written.push(decoder.decode(chunk));
      return Promise.resolve();
    },
  });
  queue.push("a\n");
  const closed = queue.close();
  queue.push("b\n");
  await closed;
  assert.equal(written.join(""), "a\nb\n");
  assert.equal(queue.push("c\n"), false);
});

Deno.test("the sinks reject a capacity or retention that is not a positive integer", () => {
  for (const capacity of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(
      () => new LineQueue({ name: "x", capacity, write: async () => {} }),
      {
        name: "RangeError",
        message:
          `Cannot create line queue "x": capacity must be a positive integer: ${capacity}`,
      },
    );
  }
  assert.throws(() => stdoutSink({ formatter, capacity: 0 }), RangeError);
  assert.throws(
    () =>
      dailyFileSink({
        directory: "logs",
        formatter,
        capacity: 10,
        retentionDays: 0,
      }),
    {
      name: "RangeError",
      message:
        'Cannot create daily file sink in "logs": retentionDays must be a positive integer: 0',
    },
  );
});
