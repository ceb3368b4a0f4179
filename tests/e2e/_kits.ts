// Every kit in the end-to-end run: registered on Vigil's registry, fed
// healthy figures first and a breach of each kit's main alert after. Alerts
// fire at once (`for: 0s`) so the run stays short.
import type { Registry } from "../../src/metrics/registry.ts";
import {
  cacheKit,
  cacheMetrics,
  circuitBreakerKit,
  circuitBreakerMetrics,
  databaseKit,
  databaseMetrics,
  dataQualityKit,
  dataQualityMetrics,
  jobMetrics,
  jobsKit,
  type Kit,
  llmKit,
  llmMetrics,
  onlineLearningKit,
  onlineLearningMetrics,
  streamKit,
  streamMetrics,
} from "../../src/kits/mod.ts";

/** The kits as the test's rules use them: no waiting, a short staleness. */
export const E2E_KITS: readonly Kit[] = [
  cacheKit({ hitRatioFor: "0s" }),
  circuitBreakerKit({ openFor: "0s" }),
  databaseKit({ poolUsageFor: "0s", queryP95For: "0s" }),
  llmKit({ errorRatioFor: "0s" }),
  dataQualityKit({ scoreFor: "0s" }),
  jobsKit({ failureRatioFor: "0s" }),
  streamKit({ staleSeconds: 4, staleFor: "0s" }),
  onlineLearningKit(),
];

/** The alert of each kit the breach must fire (online learning has none). */
export const MAIN_ALERTS: readonly string[] = [
  "LowCacheHitRate",
  "CircuitBreakerOpen",
  "DatabaseConnectionPoolExhausted",
  "ProviderErrorRate",
  "LowDataQuality",
  "BackgroundJobFailures",
  "StaleStream",
];

/** Every alert the kits may fire once breached. */
export const KIT_ALERTS: ReadonlySet<string> = new Set(
  E2E_KITS.flatMap((kit) => kit.alerts.map((alert) => alert.name)),
);

/** The kits' helpers on one registry, with the two phases of the run. */
export function startKits(registry: Registry): {
  healthy(): Promise<void>;
  breach(): Promise<void>;
  stop(): void;
} {
  const cache = cacheMetrics(registry, { name: "redis" });
  const breaker = circuitBreakerMetrics(registry, { name: "payments" });
  const db = databaseMetrics(registry, { name: "main" });
  const llm = llmMetrics(registry, {
    name: "openai",
    prices: { "gpt-4o": { input: 2.5, output: 10 } },
  });
  const quality = dataQualityMetrics(registry, { name: "orders" });
  const jobs = jobMetrics(registry, { name: "emails" });
  const stream = streamMetrics(registry, { name: "quotes" });
  const online = onlineLearningMetrics(registry, { name: "fraud" });
  db.poolSize(20);
  // A live stream: an event every half second until the breach.
  let ticking: ReturnType<typeof setInterval> | undefined;
  const stop = () => clearInterval(ticking);
  return {
    stop,
    async healthy() {
      cache.hit(90);
      cache.miss(10);
      cache.size(4096);
      cache.items(40);
      await cache.timed("get", () => Promise.resolve("v"));
      breaker.state("closed");
      db.connections({ active: 4, idle: 16 });
      await db.timed("select", () => Promise.resolve([]));
      db.error("insert", new RangeError("deadlock"));
      for (let i = 0; i < 20; i++) {
        llm.request("gpt-4o", {
          status: "success",
          durationSeconds: 0.8,
          timeToFirstTokenSeconds: 0.2,
          inputTokens: 1000,
          outputTokens: 200,
        });
      }
      llm.request("gpt-4o", { status: "error", durationSeconds: 0.1 });
      llm.tokens("o1-unpriced", { inputTokens: 10, outputTokens: 5 });
      quality.score(0.97);
      quality.check(true);
      quality.anomaly();
      for (let i = 0; i < 50; i++) await jobs.run(() => Promise.resolve());
      try {
        jobs.run(() => {
          throw new Error("bounced");
        });
      } catch {
        // Counted as a failure: one in 51 stays under the alert's 10 %.
      }
      stream.up(true);
      stream.event(100);
      ticking = setInterval(() => stream.event(), 500);
      stream.reconnect();
      online.update(32);
      online.bufferSize(128);
    },
    async breach() {
      for (let round = 0; round < 4; round++) {
        cache.hit(10);
        cache.miss(90);
        db.connections({ active: 20, idle: 0 });
        for (let i = 0; i < 10; i++) {
          llm.request("gpt-4o", { status: "error", durationSeconds: 0.05 });
        }
        for (let i = 0; i < 10; i++) {
          await jobs.run(() => Promise.reject(new Error("smtp down")))
            .catch(() => {});
        }
        online.update(8);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      breaker.state("open");
      quality.score(0.4);
      // No event from now on: the stream goes stale.
      stop();
      stream.up(false);
    },
  };
}
