// A child process for https_test.ts: started with DENO_CERT naming the
// test's certificate authority, it reports one error to an https DSN on
// 127.0.0.1 and prints whether the report went out.
import {
  captureException,
  closeErrorTracking,
  initErrorTracking,
} from "../../src/errors/mod.ts";
import { Registry } from "../../src/metrics/mod.ts";

const registry = new Registry();
initErrorTracking({ dsn: Deno.args[0]!, registry, env: () => undefined });
captureException(new Error("over TLS"), { component: "https-test" });
const flushed = await closeErrorTracking(5000);
const failed = /^vigil_error_reports_failed_total\S* (\S+)$/m.exec(
  await registry.metrics(),
)?.[1] ?? "0";
await registry.close();
console.log(JSON.stringify({ flushed, failed: Number(failed) }));
