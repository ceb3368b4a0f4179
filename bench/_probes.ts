/**
 * Event-loop probes the run-as-scripts benchmarks share: how late a timer
 * fires, and the longest task the main thread ran. Not a benchmark itself.
 *
 * @module
 */

/**
 * A chained 1 ms `setTimeout`: each tick records how much later than asked
 * it fired. Deno's timers are millisecond-grained, so even an idle loop
 * shows about 1 ms of lag; compare against the idle figure.
 */
export class TimerLagProbe {
  /** The lag of each tick so far, ms. */
  readonly lags: number[] = [];
  #expected = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Starts the timer chain. */
  start(): void {
    this.#expected = performance.now() + 1;
    this.#timer = setTimeout(this.#tick, 1);
  }

  #tick = (): void => {
    const now = performance.now();
    this.lags.push(now - this.#expected);
    this.#expected = now + 1;
    this.#timer = setTimeout(this.#tick, 1);
  };

  /** Stops the chain and returns the lags, ms. */
  stop(): number[] {
    clearTimeout(this.#timer);
    return this.lags;
  }
}

/**
 * A message bounced between the two ports of a channel: it runs as soon as
 * the event loop is free, so the longest gap between two bounces is the
 * longest task (synchronous stretch) the main thread ran meanwhile, to
 * within a few microseconds.
 */
export class TaskGapProbe {
  /** The longest gap between two bounces since start or the last reset, ms. */
  maxGap = 0;
  readonly #channel = new MessageChannel();
  #last = 0;
  #running = false;
  #waiters: (() => void)[] = [];

  /** Starts bouncing. */
  start(): void {
    this.#running = true;
    this.#last = performance.now();
    this.#channel.port1.onmessage = () => {
      const now = performance.now();
      if (now - this.#last > this.maxGap) this.maxGap = now - this.#last;
      this.#last = now;
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
      if (this.#running) this.#channel.port2.postMessage(0);
    };
    this.#channel.port2.postMessage(0);
  }

  /** Resolves at the next bounce, once the gap in progress is counted. */
  bounce(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Stops bouncing and returns the longest gap, ms. */
  stop(): number {
    this.#running = false;
    this.#channel.port1.close();
    this.#channel.port2.close();
    return this.maxGap;
  }
}
