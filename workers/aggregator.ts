/**
 * Worker entry point of one aggregation shard: waits for the port the pool
 * sends, then serves it. The logic lives in `src/aggregation/`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { serveAggregator } from "../src/aggregation/endpoint.ts";

// Registered before anything awaits, so the port cannot arrive unheard.
self.onmessage = (event: MessageEvent<{ port: MessagePort }>) => {
  self.onmessage = null;
  serveAggregator(event.data.port);
};
