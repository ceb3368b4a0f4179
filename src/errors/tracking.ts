// Error tracking on @sentry/deno. Sentry keeps its client in its own global
// hub; Vigil's state (counters, logger, failure episode) rides on that
// client as an integration, so the free functions find it without any
// module-level state here, and a second init() replaces both together.
import * as Sentry from "@sentry/deno";
import type { ErrorEvent, EventHint } from "@sentry/deno";
import { createLogger, type Logger } from "../base/log.ts";
import { currentTraceIds, logContextStorage } from "../logging/context.ts";
import { makeUploadTransport, type UploadFailure } from "./_transport.ts";
import { maskText, scrubBreadcrumb, scrubEvent } from "./scrub.ts";

/** What error tracking needs of a `Registry`: its `counter()`. */
export interface CounterRegistry {
  /** Defines a counter; `Registry.counter()`. */
  counter(options: {
    name: string;
    help: string;
    labelNames: readonly string[];
  }): { labels(labels: Record<string, string>): { inc(): void } };
}

/** Options of {@linkcode initErrorTracking}. */
export interface ErrorTrackingOptions {
  /**
   * The Sentry DSN. Without one, error tracking is a no-op.
   * @default {the `SENTRY_DSN` environment variable}
   */
  readonly dsn?: string;
  /**
   * The deployment environment, such as `production`.
   * @default {the `SENTRY_ENVIRONMENT` environment variable}
   */
  readonly environment?: string;
  /**
   * The release, such as `api@1.4.2`.
   * @default {the `SENTRY_RELEASE` environment variable}
   */
  readonly release?: string;
  /**
   * The share of error events sent, from 0 to 1.
   * @default {1}
   */
  readonly sampleRate?: number;
  /**
   * The share of Sentry transactions sent, from 0 to 1; unset, Sentry
   * records none (Deno's own OpenTelemetry traces are not affected).
   * @default {the `SENTRY_TRACES_SAMPLE_RATE` environment variable}
   */
  readonly tracesSampleRate?: number;
  /**
   * Where `errors_total{type,component}` and
   * `vigil_error_reports_failed_total{reason}` are counted.
   * @default {no metrics}
   */
  readonly registry?: CounterRegistry;
  /**
   * Where a failing upload is logged (once per failure episode).
   * @default {Vigil's logger, category `vigil.errors`}
   */
  readonly logger?: Logger;
  /**
   * How long one upload to Sentry may take before it counts as failed.
   * @default {5000}
   */
  readonly uploadTimeoutMs?: number;
  /**
   * Reads an environment variable; tests pass a fixed map.
   * @default {Deno.env.get, or nothing without the permission}
   */
  readonly env?: (name: string) => string | undefined;
}

/** What a capture adds to the event. */
export interface CaptureContext {
  /**
   * The part of the application that failed: the `component` tag and
   * label of `errors_total`.
   * @default {"app"}
   */
  readonly component?: string;
  /** Tags of the event. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Extra data of the event (scrubbed before sending). */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Named contexts, such as `{ order: { id: 17 } }` (scrubbed). */
  readonly contexts?: Readonly<Record<string, Record<string, unknown>>>;
  /** The user of this event only. */
  readonly user?: ErrorUser;
  /** The level. @default {"error"} */
  readonly level?: "fatal" | "error" | "warning" | "info" | "debug";
}

/** The user of events, as Sentry takes it. */
export interface ErrorUser {
  /** The application's id of the user. */
  readonly id?: string | number;
  /** The user's name. */
  readonly username?: string;
  /** The user's email address. */
  readonly email?: string;
}

/** A breadcrumb: something that happened before an error. */
export interface ErrorBreadcrumb {
  /** What it is about, such as `auth`, `health` or `drift`. */
  readonly category?: string;
  /** What happened. */
  readonly message?: string;
  /** Its level. @default {"info"} */
  readonly level?: "fatal" | "error" | "warning" | "info" | "debug";
  /** Sentry's breadcrumb type, such as `default`, `http` or `navigation`. */
  readonly type?: string;
  /** Details (scrubbed). */
  readonly data?: Readonly<Record<string, unknown>>;
  /** When, in seconds since the Unix epoch. @default {now} */
  readonly timestamp?: number;
}

/** The handle {@linkcode initErrorTracking} returns. */
export interface ErrorTracking {
  /** Whether events are sent: false without a DSN. */
  readonly enabled: boolean;
  /** As {@linkcode captureException}. */
  captureException(
    error: unknown,
    context?: CaptureContext,
  ): string | undefined;
  /** Sets the user of the following events; `null` clears it. */
  setUser(user: ErrorUser | null): void;
  /** Adds a breadcrumb (scrubbed) to the following events. */
  addBreadcrumb(breadcrumb: ErrorBreadcrumb): void;
  /**
   * Sends what is queued, waiting at most `timeoutMs`, and stops.
   * Resolves false when something was still unsent; never rejects.
   */
  close(timeoutMs?: number): Promise<boolean>;
}

const INTEGRATION = "VigilErrors";
/** Marks events captured through Vigil: counted already. */
const CAPTURED = "vigilCaptured";
const DEFAULT_COMPONENT = "app";
const DEFAULT_UPLOAD_TIMEOUT_MS = 5000;
const DEFAULT_CLOSE_TIMEOUT_MS = 2000;
/** Longer error names are cut: they are a label value. */
const MAX_TYPE_LENGTH = 64;

interface Counters {
  readonly errors: (type: string, component: string) => { inc(): void };
  readonly failed: (reason: UploadFailure | "sdk") => { inc(): void };
}

/** Vigil's part of a Sentry client, and the handle's implementation. */
class Tracker implements ErrorTracking {
  readonly enabled = true;
  readonly #counters: Counters | undefined;
  readonly #logger: Logger;
  /** Within a failure episode, further failures are counted, not logged. */
  #failing = false;

  constructor(registry: CounterRegistry | undefined, logger: Logger) {
    this.#logger = logger;
    if (registry !== undefined) {
      const errors = registry.counter({
        name: "errors_total",
        help: "Errors captured for error tracking, by type and component",
        labelNames: ["type", "component"],
      });
      const failed = registry.counter({
        name: "vigil_error_reports_failed_total",
        help:
          "Error reports that did not reach Sentry: network, status, timeout or sdk",
        labelNames: ["reason"],
      });
      this.#counters = {
        errors: (type, component) => errors.labels({ type, component }),
        failed: (reason) => failed.labels({ reason }),
      };
    }
  }

  captureException(
    error: unknown,
    context: CaptureContext = {},
  ): string | undefined {
    const component = context.component ?? DEFAULT_COMPONENT;
    this.countError(error, component);
    try {
      return Sentry.captureException(error, {
        captureContext: {
          tags: { ...idTags(), ...context.tags, component },
          ...(context.extra === undefined
            ? {}
            : { extra: { ...context.extra } }),
          ...(context.contexts === undefined
            ? {}
            : { contexts: { ...context.contexts } }),
          ...(context.user === undefined ? {} : { user: context.user }),
          ...(context.level === undefined ? {} : { level: context.level }),
        },
        data: { [CAPTURED]: true },
      });
    } catch (sdkError) {
      this.reportFailure("sdk", sdkError);
      return undefined;
    }
  }

  setUser(user: ErrorUser | null): void {
    this.#guard(() => Sentry.setUser(user === null ? null : { ...user }));
  }

  addBreadcrumb(breadcrumb: ErrorBreadcrumb): void {
    this.#guard(() =>
      Sentry.addBreadcrumb({
        ...breadcrumb,
        ...(breadcrumb.data === undefined
          ? {}
          : { data: { ...breadcrumb.data } }),
      })
    );
  }

  async close(timeoutMs: number = DEFAULT_CLOSE_TIMEOUT_MS): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      // Sentry bounds close() itself; the race guards against an SDK bug.
      return await Promise.race([
        Sentry.close(timeoutMs),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs + 100);
        }),
      ]);
    } catch (error) {
      this.reportFailure("sdk", error);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  countError(error: unknown, component: string): void {
    this.#counters?.errors(errorType(error), component).inc();
  }

  reportFailure(reason: UploadFailure | "sdk", detail: unknown): void {
    try {
      this.#counters?.failed(reason).inc();
      if (this.#failing) return;
      this.#failing = true;
      this.#logger.warn("Error reports are not reaching Sentry", {
        event: "errors.report_failed",
        reason,
        error: maskText(
          detail instanceof Error ? detail.message : String(detail),
        ),
      });
    } catch (error) {
      // The logger or counter failing: the host goes on regardless.
      reportError(error);
    }
  }

  reportSuccess(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#logger.info("Error reports reach Sentry again", {
      event: "errors.report_recovered",
    });
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.reportFailure("sdk", error);
    }
  }
}

const NOOP: ErrorTracking = Object.freeze({
  enabled: false,
  captureException: () => undefined,
  setUser: () => {},
  addBreadcrumb: () => {},
  close: () => Promise.resolve(true),
});

function errorType(error: unknown): string {
  const name = error instanceof Error
    ? error.name
    : error === null
    ? "null"
    : typeof error;
  return name.slice(0, MAX_TYPE_LENGTH) || "Error";
}

/** The request and trace ids of the work being done, as tags. */
function idTags(): Record<string, string> {
  const tags: Record<string, string> = {};
  const requestId = logContextStorage.getStore()?.request_id;
  if (typeof requestId === "string" || typeof requestId === "number") {
    tags.request_id = String(requestId);
  }
  const ids = currentTraceIds();
  if (ids !== undefined) tags.trace_id = ids.traceId;
  return tags;
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
}

function rate(
  value: number | undefined,
  raw: string | undefined,
  key: string,
): number | undefined {
  const parsed = value ??
    (raw === undefined || raw === "" ? undefined : Number(raw));
  if (parsed === undefined) return undefined;
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1) {
    throw new RangeError(
      `Cannot start error tracking: ${key} must be a number from 0 to 1, got ${
        value ?? JSON.stringify(raw)
      }`,
    );
  }
  return parsed;
}

function checkDsn(dsn: string): void {
  let url: URL | undefined;
  try {
    url = new URL(dsn);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  if (
    url === undefined ||
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.username === "" || !/\/\d+$/.test(url.pathname)
  ) {
    throw new TypeError(
      `Cannot start error tracking: the DSN is not a Sentry DSN (scheme://key@host/project): ${
        maskText(dsn)
      }`,
    );
  }
}

/**
 * Starts error tracking on Sentry, or nothing without a DSN. Deno's own
 * OpenTelemetry stays in place (`skipOpenTelemetrySetup`), Sentry's uploads
 * are not traced as application spans, `sendDefaultPii` is off, and every
 * event and breadcrumb is scrubbed with the logs' secret rule before it
 * leaves. An upload that fails is counted and logged once; it never throws
 * into the application.
 *
 * @param options The DSN, environment, release and sample rates (each also
 * from `SENTRY_*` variables; explicit options win), and where to count.
 * @returns The handle; without a DSN one that does nothing.
 *
 * @example Without a DSN nothing happens
 * ```ts
 * import assert from "node:assert/strict";
 * import { initErrorTracking } from "@vigil/observe/errors";
 *
 * const tracking = initErrorTracking({ env: () => undefined });
 * assert.equal(tracking.enabled, false);
 * tracking.captureException(new Error("not sent"));
 * assert.equal(await tracking.close(), true);
 * ```
 */
export function initErrorTracking(
  options: ErrorTrackingOptions = {},
): ErrorTracking {
  const env = options.env ?? readEnv;
  const dsn = options.dsn ?? env("SENTRY_DSN");
  if (dsn === undefined || dsn === "") return NOOP;
  checkDsn(dsn);
  const sampleRate = rate(options.sampleRate, undefined, "sampleRate");
  const tracesSampleRate = rate(
    options.tracesSampleRate,
    env("SENTRY_TRACES_SAMPLE_RATE"),
    options.tracesSampleRate === undefined
      ? "SENTRY_TRACES_SAMPLE_RATE"
      : "tracesSampleRate",
  );
  const uploadTimeoutMs = options.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS;
  if (!Number.isFinite(uploadTimeoutMs) || uploadTimeoutMs <= 0) {
    throw new RangeError(
      `Cannot start error tracking: uploadTimeoutMs must be a positive number, got ${uploadTimeoutMs}`,
    );
  }
  const environment = options.environment ?? env("SENTRY_ENVIRONMENT");
  const release = options.release ?? env("SENTRY_RELEASE");
  const tracker = new Tracker(
    options.registry,
    options.logger ?? createLogger("errors"),
  );
  const integration = {
    name: INTEGRATION,
    tracker,
    processEvent(event: ErrorEvent, hint: EventHint): ErrorEvent {
      // Events Sentry captured by itself (uncaught errors, a direct
      // Sentry.captureException): counted and tagged here.
      if (event.exception !== undefined && hint.data?.[CAPTURED] !== true) {
        const component = event.tags?.component;
        tracker.countError(
          hint.originalException,
          typeof component === "string" ? component : DEFAULT_COMPONENT,
        );
        event.tags = { ...idTags(), ...event.tags };
      }
      return event;
    },
  };
  Sentry.init({
    dsn,
    ...(environment === undefined ? {} : { environment }),
    ...(release === undefined ? {} : { release }),
    ...(sampleRate === undefined ? {} : { sampleRate }),
    ...(tracesSampleRate === undefined ? {} : { tracesSampleRate }),
    sendDefaultPii: false,
    // Deno's tracer provider stays: Sentry's init() would replace it.
    skipOpenTelemetrySetup: true,
    transport: makeUploadTransport({
      timeoutMs: uploadTimeoutMs,
      onFailure: (reason, detail) => tracker.reportFailure(reason, detail),
      onSuccess: () => tracker.reportSuccess(),
    }),
    integrations: [integration],
    beforeSend: (event) => guarded(tracker, () => scrubEvent(event)),
    // Transactions (with tracesSampleRate) carry URLs and headers too.
    beforeSendTransaction: (event) => guarded(tracker, () => scrubEvent(event)),
    beforeBreadcrumb: (breadcrumb) =>
      guarded(tracker, () => scrubBreadcrumb(breadcrumb)),
  });
  return tracker;
}

/** Runs a scrub; if it fails, nothing unscrubbed is sent. */
function guarded<T>(tracker: Tracker, fn: () => T): T | null {
  try {
    return fn();
  } catch (error) {
    tracker.reportFailure("sdk", error);
    return null;
  }
}

/** The tracker of the Sentry client in force, if Vigil started it. */
function current(): ErrorTracking {
  const integration = Sentry.getClient()?.getIntegrationByName(INTEGRATION) as
    | { tracker?: Tracker }
    | undefined;
  return integration?.tracker ?? NOOP;
}

/**
 * Reports an error to Sentry with the request and trace ids of the work
 * being done as `request_id` and `trace_id` tags, and counts it in
 * `errors_total{type,component}`. Does nothing before
 * {@linkcode initErrorTracking} (or without a DSN); never throws.
 *
 * @param error What was thrown.
 * @param context The component, tags, extra data, contexts, user, level.
 * @returns The event id, or undefined when nothing is sent.
 *
 * @example Report a failure with context
 * ```ts
 * import { captureException } from "@vigil/observe/errors";
 *
 * try {
 *   JSON.parse("{");
 * } catch (error) {
 *   captureException(error, { component: "import", extra: { file: "orders.json" } });
 * }
 * ```
 */
export function captureException(
  error: unknown,
  context?: CaptureContext,
): string | undefined {
  return current().captureException(error, context);
}

/**
 * Sets the user of the following events (`id`, `username`, `email`);
 * `null` clears it. Does nothing before {@linkcode initErrorTracking}.
 *
 * @param user The user.
 *
 * @example
 * ```ts
 * import { setUser } from "@vigil/observe/errors";
 *
 * setUser({ id: "u-17" });
 * setUser(null);
 * ```
 */
export function setUser(user: ErrorUser | null): void {
  current().setUser(user);
}

/**
 * Adds a breadcrumb to the following events, scrubbed like the logs.
 * Does nothing before {@linkcode initErrorTracking}.
 *
 * @param breadcrumb The breadcrumb: `category`, `message`, `level`, `data`.
 *
 * @example
 * ```ts
 * import { addBreadcrumb } from "@vigil/observe/errors";
 *
 * addBreadcrumb({ category: "cache", message: "Cache cleared", level: "info" });
 * ```
 */
export function addBreadcrumb(breadcrumb: ErrorBreadcrumb): void {
  current().addBreadcrumb(breadcrumb);
}

/**
 * Sends what is queued to Sentry, waiting at most `timeoutMs`, and stops
 * error tracking: for shutdown. Never rejects.
 *
 * @param timeoutMs The deadline. @default {2000}
 * @returns Whether everything was sent in time.
 *
 * @example
 * ```ts
 * import { closeErrorTracking } from "@vigil/observe/errors";
 *
 * await closeErrorTracking(2000);
 * ```
 */
export function closeErrorTracking(
  timeoutMs: number = DEFAULT_CLOSE_TIMEOUT_MS,
): Promise<boolean> {
  return current().close(timeoutMs);
}

/** A function or method {@linkcode trackErrors} wraps. */
// deno-lint-ignore no-explicit-any
export type TrackableFunction = (this: any, ...args: any[]) => any;

/**
 * Wraps a function, sync or async, so that what it throws (or the promise
 * it returns rejects with) is captured and then rethrown unchanged. Also a
 * TC39 method decorator: `@trackErrors` on a method captures with the
 * method's name as the component.
 *
 * @param fn The function (or the decorated method).
 * @param context The decorator's context, set by the language: leave out.
 * @returns The wrapped function.
 *
 * @example A wrapped function and a decorated method
 * ```ts
 * import assert from "node:assert/strict";
 * import { trackErrors } from "@vigil/observe/errors";
 *
 * const parse = trackErrors((text: string) => JSON.parse(text));
 * assert.throws(() => parse("{"), SyntaxError);
 *
 * class Jobs {
 *   @trackErrors
 *   async run(): Promise<void> {
 *     throw new RangeError("no job");
 *   }
 * }
 * await assert.rejects(new Jobs().run(), RangeError);
 * ```
 */
export function trackErrors<F extends TrackableFunction>(
  fn: F,
  context?: ClassMethodDecoratorContext,
): F {
  const component = context === undefined
    ? DEFAULT_COMPONENT
    : String(context.name);
  const capture = (error: unknown): never => {
    current().captureException(error, { component });
    throw error;
  };
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    let result: unknown;
    try {
      result = fn.apply(this, args);
    } catch (error) {
      return capture(error);
    }
    return result instanceof Promise ? result.catch(capture) : result;
  };
  return wrapped as F;
}
