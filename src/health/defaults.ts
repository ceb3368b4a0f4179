/**
 * The defaults of health checks, written once: {@linkcode Health.register},
 * the built-in checks and the configuration file all read them here.
 */

const GIB = 2 ** 30;

/** What a check registered without options gets. */
export const CHECK_DEFAULTS: {
  readonly critical: boolean;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly componentType: string;
  readonly measurement: string;
} = Object.freeze({
  critical: true,
  timeoutMs: 5000,
  intervalMs: 10_000,
  componentType: "component",
  measurement: "status",
});

/** The defaults of each built-in check, by its `type` in the configuration. */
export const BUILT_IN_CHECK_DEFAULTS: {
  readonly http: {
    readonly componentType: string;
    readonly expectStatus: readonly number[];
  };
  readonly tcp: { readonly componentType: string };
  readonly disk: {
    readonly componentType: string;
    readonly warnFreeRatio: number;
    readonly failFreeRatio: number;
  };
  readonly memory: {
    readonly componentType: string;
    readonly warnBytes: number;
    readonly failBytes: number;
  };
  readonly eventLoop: {
    readonly componentType: string;
    readonly warnMs: number;
    readonly failMs: number;
  };
  readonly workers: { readonly componentType: string };
} = Object.freeze({
  http: Object.freeze({
    componentType: "http",
    expectStatus: Object.freeze([]) as readonly number[],
  }),
  tcp: Object.freeze({ componentType: "datastore" }),
  disk: Object.freeze({
    componentType: "system",
    warnFreeRatio: 0.2,
    failFreeRatio: 0.05,
  }),
  memory: Object.freeze({
    componentType: "system",
    warnBytes: GIB,
    failBytes: 2 * GIB,
  }),
  eventLoop: Object.freeze({
    componentType: "system",
    warnMs: 100,
    failMs: 1000,
  }),
  workers: Object.freeze({ componentType: "component" }),
});
