// The aggregator's side of a MessagePort: the loop a worker runs, and the one
// the main thread runs itself when it aggregates without workers. Internal.
import { Aggregator, PROGRESS_EVERY } from "./aggregator.ts";
import type { FromAggregator, ToAggregator } from "./protocol.ts";

/**
 * Answers the messages of one shard on `port` until a `close` message or a
 * call of the returned `close()`. Messages are handled in order, so a render
 * request sees every batch posted before it.
 */
export function serveAggregator(port: MessagePort): { close(): void } {
  let progress: Int32Array<ArrayBufferLike> = new Int32Array(1);
  // Each message handled, and each stretch of a long loop, is a sign of
  // life the main thread reads without waiting for an answer.
  const tick = (): void => void Atomics.add(progress, 0, 1);
  const aggregator = new Aggregator({ progress: tick });
  let ring: Float64Array = new Float64Array(0);
  let fences: Int32Array = new Int32Array(0);
  let slotLength = 0;
  let snapshotIntervalMs = 1000;
  let applied = -1;
  /** The last batch whose refusals the restored counts hold. */
  let countedUpTo = -1;
  /** Bytes of the batches applied since the last snapshot: what a restart replays. */
  let logged = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const post = (message: FromAggregator): void => port.postMessage(message);
  const snapshot = (): void => {
    clearTimeout(timer);
    timer = undefined;
    logged = 0;
    const records = aggregator.takeSnapshot();
    port.postMessage(
      {
        type: "snapshot",
        seq: applied,
        records,
        refused: aggregator.refused(),
      } satisfies FromAggregator,
      [records.buffer],
    );
  };

  // While little changes, a snapshot waits for the interval and for the
  // batches to reach an eighth of its size: the replay log stays small
  // against the state, and snapshots cost at most eight times the bytes
  // observed. The timer is armed by batches only, so an idle aggregator
  // keeps none.
  const arm = (): void => {
    timer = setTimeout(() => {
      timer = undefined;
      if (logged * 8 >= aggregator.dirtyBytes) snapshot();
    }, snapshotIntervalMs);
  };

  const handle = (message: ToAggregator): void => {
    switch (message.type) {
      case "init":
        ring = new Float64Array(message.ring);
        fences = new Int32Array(message.fences);
        slotLength = message.slotLength;
        snapshotIntervalMs = message.snapshotIntervalMs;
        progress = new Int32Array(message.progress);
        return;
      case "family":
        aggregator.defineFamily(message.family);
        return;
      case "series":
        message.series.forEach((series, i) => {
          aggregator.defineSeries(series, Date.now());
          if ((i + 1) % PROGRESS_EVERY === 0) tick();
        });
        return;
      case "model":
        aggregator.defineModel(message.model);
        return;
      case "modelClass":
        aggregator.addModelClass(message.id, message.name);
        return;
      case "modelStatus":
        post({
          type: "modelStatus",
          request: message.request,
          status: aggregator.modelStatus(message.id),
        });
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
        countedUpTo = message.refusedSeq;
        return;
      case "batch": {
        const { seq, slot, length, data } = message;
        // A replayed batch's refusals are in the restored counts already.
        const count = seq > countedUpTo;
        if (data !== undefined) {
          aggregator.apply(data, 0, data.length, Date.now(), count);
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
          aggregator.apply(ring, start, start + length, Date.now(), count);
        }
        applied = seq;
        const events = aggregator.takeEvents();
        post(
          events === undefined
            ? { type: "applied", seq, refused: aggregator.refused() }
            : { type: "applied", seq, refused: aggregator.refused(), events },
        );
        logged += length * Float64Array.BYTES_PER_ELEMENT;
        // A snapshot costs about the changed series' size; the batches it
        // lets go cost their own. Taking one once the batches outweigh it
        // keeps snapshots to at most the bytes observed, however many
        // series each batch touches.
        if (logged >= aggregator.dirtyBytes) snapshot();
        else if (timer === undefined) arm();
        return;
      }
      case "render": {
        const { bytes, ends } = aggregator.render(
          message.families,
          message.format,
          Date.now(),
        );
        port.postMessage(
          {
            type: "rendered",
            request: message.request,
            bytes,
            ends,
          } satisfies FromAggregator,
          [bytes.buffer],
        );
        return;
      }
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
  port.onmessage = (event: MessageEvent<ToAggregator>) => {
    tick();
    handle(event.data);
  };
  // Tells the shard the modules loaded: a failure before this is one that
  // restarting cannot mend.
  post({ type: "ready" });
  return { close };
}
