// The aggregator's side of a MessagePort: the loop a worker runs, and the one
// the main thread runs itself when it aggregates without workers. Internal.
import * as hdr from "hdr-histogram-js";
import { Aggregator } from "./aggregator.ts";
import type { FromAggregator, ToAggregator } from "./protocol.ts";

/** Options of {@linkcode serveAggregator}. */
export interface EndpointOptions {
  /**
   * Record with hdr-histogram-js' WebAssembly build, about twice as fast as
   * its JavaScript build here; falls back to JavaScript if it cannot load.
   */
  readonly useWebAssembly: boolean;
}

/**
 * Answers the messages of one shard on `port` until a `close` message or a
 * call of the returned `close()`. Messages are handled in order, so a render
 * request sees every batch posted before it.
 */
export function serveAggregator(
  port: MessagePort,
  options: EndpointOptions,
): { close(): void } {
  let useWebAssembly = options.useWebAssembly;
  if (useWebAssembly) {
    try {
      hdr.initWebAssemblySync();
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      useWebAssembly = false;
    }
  }
  const aggregator = new Aggregator({ useWebAssembly });
  let ring: Float64Array = new Float64Array(0);
  let fences: Int32Array = new Int32Array(0);
  let slotLength = 0;
  let snapshotEvery = 1;
  let snapshotIntervalMs = 1000;
  let applied = -1;
  let sinceSnapshot = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const post = (message: FromAggregator): void => port.postMessage(message);
  const snapshot = (): void => {
    clearTimeout(timer);
    timer = undefined;
    sinceSnapshot = 0;
    post({
      type: "snapshot",
      seq: applied,
      series: aggregator.takeSnapshot(),
      refused: aggregator.refused(),
    });
  };

  const handle = (message: ToAggregator): void => {
    switch (message.type) {
      case "init":
        ring = new Float64Array(message.ring);
        fences = new Int32Array(message.fences);
        slotLength = message.slotLength;
        snapshotEvery = message.snapshotEvery;
        snapshotIntervalMs = message.snapshotIntervalMs;
        return;
      case "family":
        aggregator.defineFamily(message.family);
        return;
      case "series":
        aggregator.defineSeries(message.series, Date.now());
        return;
      case "remove":
        aggregator.removeSeries(message.id);
        return;
      case "removeFamily":
        aggregator.removeFamily(message.id);
        return;
      case "restore":
        aggregator.restore(message.snapshots, Date.now());
        aggregator.restoreRefused(message.refused);
        return;
      case "batch": {
        const { seq, slot, length, data } = message;
        if (data !== undefined) {
          aggregator.apply(data, 0, data.length, Date.now());
        } else {
          // The acquire half of the fence the main thread released after
          // writing: the slot's values are visible from here on.
          if (
            Atomics.load(fences, slot) !== (seq | 0) || length > slotLength ||
            length % 2 !== 0
          ) {
            throw new RangeError(
              `Cannot apply batch ${seq}: slot ${slot} does not hold it (length ${length})`,
            );
          }
          const start = slot * slotLength;
          aggregator.apply(ring, start, start + length, Date.now());
        }
        applied = seq;
        if (++sinceSnapshot >= snapshotEvery) snapshot();
        else if (timer === undefined) {
          timer = setTimeout(snapshot, snapshotIntervalMs);
        }
        return;
      }
      case "render":
        post({
          type: "rendered",
          request: message.request,
          texts: aggregator.render(
            message.families,
            message.format,
            Date.now(),
          ),
        });
        return;
      case "stats":
        post({
          type: "stats",
          request: message.request,
          stats: aggregator.stats(message.id, Date.now()),
        });
        return;
      case "ping":
        post({
          type: "pong",
          request: message.request,
          seq: applied,
          held: aggregator.held(),
        });
        return;
      case "close":
        close();
        return;
    }
  };
  const close = (): void => {
    clearTimeout(timer);
    aggregator.close();
    port.onmessage = null;
    port.close();
  };
  port.onmessage = (event: MessageEvent<ToAggregator>) => handle(event.data);
  // Tells the shard the modules loaded: a failure before this is one that
  // restarting cannot mend.
  post({ type: "ready" });
  return { close };
}
