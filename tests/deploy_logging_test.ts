// The log shippers' configurations (deploy/logging/) checked against the
// lines and files Vigil writes. Neither Fluent Bit nor Filebeat runs here, so
// the tests read what they would read: field names, paths, time formats.
import assert from "node:assert/strict";
import fc from "fast-check";
import { parse, parseAllDocuments } from "yaml";
import { jsonFormatter, LOG_FIELDS } from "../src/logging/format.ts";

type Section = Record<string, unknown>;

/** The parts of the manifests the tests read. */
interface Container {
  image: string;
  args: string[];
  env: { name: string; value?: string }[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  hostPath?: { path: string };
  configMap?: { name: string };
}
interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace: string }[];
  spec: {
    template: {
      spec: {
        serviceAccountName: string;
        containers: Container[];
        volumes: Volume[];
      };
    };
  };
}
interface FluentBitConfig {
  service: Section;
  parsers: Section[];
  pipeline: { inputs: Section[]; filters: Section[]; outputs: Section[] };
}

const VIGIL_FIELDS: ReadonlySet<string> = new Set(LOG_FIELDS);
/** Ids with a new value per request or span: never Loki labels. */
const HIGH_CARDINALITY = ["request_id", "user_id", "trace_id", "span_id"];
/** Record keys Fluent Bit adds: the CRI parser's and the kubernetes filter's. */
const FLUENT_BIT_KEYS = new Set(["log", "stream", "kubernetes"]);
const EXAMPLE_TIMESTAMP = "2026-12-02T10:00:00.123Z";
/** Times Vigil can write, up to the last millisecond of year 9999. */
const LOG_TIMES = fc.integer({
  min: 0,
  max: Date.UTC(9999, 11, 31, 23, 59, 59, 999),
});

/** The line Vigil's formatter writes for a record at `time`, parsed. */
function vigilLine(time: number): Record<string, unknown> {
  const format = jsonFormatter({
    service: "api",
    environment: "production",
    version: "1.2.3",
  });
  return JSON.parse(format({
    category: ["vigil", "http"],
    level: "info",
    message: ["Request served"],
    rawMessage: "Request served",
    timestamp: time,
    properties: {},
  }));
}

// --- deploy/logging/fluent-bit.yaml ----------------------------------------

const manifests: Manifest[] = parseAllDocuments(
  await Deno.readTextFile(
    new URL("../deploy/logging/fluent-bit.yaml", import.meta.url),
  ),
).map((document) => {
  assert.deepEqual(document.errors, []);
  return document.toJS();
});
const byKind = (kind: string) => {
  const manifest = manifests.find((m) => m.kind === kind);
  assert.ok(manifest, `a ${kind} in fluent-bit.yaml`);
  return manifest;
};
const daemonSet = byKind("DaemonSet");
const pod = daemonSet.spec.template.spec;
const container = pod.containers[0]!;
const configMap = byKind("ConfigMap");
const configArg = container.args.find((arg) => arg.startsWith("--config="));
assert.ok(configArg, "the container names its configuration file");
const configPath = configArg.slice("--config=".length);
const configFile = configPath.slice(configPath.lastIndexOf("/") + 1);
const fluentBit: FluentBitConfig = parse(configMap.data![configFile]!);
const { inputs, filters, outputs } = fluentBit.pipeline;
const tail = inputs.find((input) => input.name === "tail")!;
const parserFilter = filters.find((filter) => filter.name === "parser")!;
const vigilParser = fluentBit.parsers.find((parser) =>
  parser.name === parserFilter.parser
);

/** A property's value as text (YAML reads `port: 2020` as a number). */
function text(section: Section, key: string): string {
  const value = section[key];
  assert.ok(
    typeof value === "string" || typeof value === "number",
    `${String(section.name)}: ${key} is set`,
  );
  return String(value);
}

/** Fluent Bit's booleans: `on`, `true`, `yes` in any case, or YAML's true. */
function isOn(value: unknown): boolean {
  return value === true ||
    ["on", "true", "yes"].includes(String(value).toLowerCase());
}

/**
 * A glob as an anchored regular expression: `*` matches a run of `star`
 * (path globs stop at `/`; Fluent Bit's tag patterns do not).
 */
function globRegExp(glob: string, star = "[^/]"): RegExp {
  const source = [...glob].map((char) =>
    char === "*" ? `${star}*` : char.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
  ).join("");
  return new RegExp(`^${source}$`);
}

/** The mount whose directory holds `path`. */
function mountOf(path: string) {
  return container.volumeMounts.find((mount) =>
    path.startsWith(`${mount.mountPath}/`)
  );
}

/**
 * The top-level record keys a Fluent Bit record accessor names:
 * `$service` → `service`, `$kubernetes['namespace_name']` → `kubernetes`.
 * `${VAR}` is an environment variable, not a record key.
 */
function recordKeys(value: string): string[] {
  return [...value.matchAll(/\$([A-Za-z_][\w-]*)/g)].map((match) => match[1]!);
}

/**
 * Parses `time` as Fluent Bit's parser does with `format` (its strptime plus
 * `%L` for the fraction of a second) and returns milliseconds since the
 * epoch. Without `%z` the time is UTC, as with Fluent Bit's default
 * `time_offset`. Supports the directives an ISO 8601 format needs; throws a
 * TypeError for any other or for text that does not match.
 */
function fluentBitTime(format: string, time: string): number {
  const parts = { Y: 1970, m: 1, d: 1, H: 0, M: 0, S: 0, L: 0, z: 0 };
  let at = 0;
  const digits = (max: number) => {
    const match = /^\d+/.exec(time.slice(at));
    if (!match) throw new TypeError(`Expected digits at ${at}: ${time}`);
    const taken = match[0].slice(0, max);
    at += taken.length;
    return taken;
  };
  for (let i = 0; i < format.length; i++) {
    const char = format[i]!;
    if (char !== "%") {
      if (time[at] !== char) {
        throw new TypeError(`Expected "${char}" at ${at}: ${time}`);
      }
      at++;
      continue;
    }
    const directive = format[++i];
    switch (directive) {
      case "Y":
        parts.Y = Number(digits(4));
        break;
      case "m":
      case "d":
      case "H":
      case "M":
      case "S":
        parts[directive] = Number(digits(2));
        break;
      case "L":
        // Fluent Bit reads the whole fraction; milliseconds are kept here.
        parts.L = Number(`0.${digits(9)}`) * 1000;
        break;
      case "z": {
        if (time[at] === "Z") {
          at++;
          break;
        }
        const zone = /^([+-])(\d{2}):?(\d{2})?/.exec(time.slice(at));
        if (!zone) throw new TypeError(`Expected a zone at ${at}: ${time}`);
        at += zone[0].length;
        const minutes = Number(zone[2]) * 60 + Number(zone[3] ?? 0);
        parts.z = zone[1] === "-" ? -minutes : minutes;
        break;
      }
      default:
        throw new TypeError(`Unsupported directive "%${directive}": ${format}`);
    }
  }
  if (at !== time.length) {
    throw new TypeError(`Unparsed text after ${at}: ${time}`);
  }
  return Date.UTC(parts.Y, parts.m - 1, parts.d, parts.H, parts.M, parts.S) +
    Math.round(parts.L) - parts.z * 60_000;
}

Deno.test("fluent-bit.yaml: the DaemonSet mounts the node's logs, its state and its configuration", () => {
  const volume = (name: string) =>
    pod.volumes.find((candidate) => candidate.name === name)!;
  const varLog = container.volumeMounts.find((mount) =>
    volume(mount.name).hostPath?.path === "/var/log"
  );
  assert.ok(varLog, "a hostPath mount of /var/log");
  assert.equal(varLog.mountPath, "/var/log");
  for (const path of [text(tail, "path"), text(tail, "exclude_path")]) {
    assert.equal(mountOf(path), varLog, path);
  }
  // Read positions and buffered chunks outlive the pod: on the node, writable.
  for (
    const path of [text(tail, "db"), text(fluentBit.service, "storage.path")]
  ) {
    const mount = mountOf(path);
    assert.ok(mount && volume(mount.name).hostPath, path);
    assert.notEqual(mount.readOnly, true, path);
  }
  const configMount = mountOf(configPath);
  assert.ok(configMount, configPath);
  assert.equal(
    volume(configMount.name).configMap?.name,
    configMap.metadata.name,
  );
});

Deno.test("fluent-bit.yaml: the image is pinned to a release that reads YAML parsers", () => {
  const tag = /^fluent\/fluent-bit:(\d+)\.(\d+)\.(\d+)$/.exec(container.image);
  assert.ok(tag, container.image);
  // The `parsers` section of a YAML configuration needs Fluent Bit 3.2.
  assert.ok(Number(tag[1]) * 100 + Number(tag[2]) >= 302, container.image);
});

Deno.test("fluent-bit.yaml: the service account may read pods and namespaces", () => {
  const account = byKind("ServiceAccount");
  const role = byKind("ClusterRole");
  const binding = byKind("ClusterRoleBinding");
  assert.equal(pod.serviceAccountName, account.metadata.name);
  assert.equal(account.metadata.namespace, daemonSet.metadata.namespace);
  assert.deepEqual(binding.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: role.metadata.name,
  });
  assert.deepEqual(binding.subjects, [{
    kind: "ServiceAccount",
    name: account.metadata.name,
    namespace: account.metadata.namespace,
  }]);
  const core = role.rules!.find((rule) => rule.apiGroups.includes(""))!;
  for (const resource of ["pods", "namespaces"]) {
    assert.ok(core.resources.includes(resource), resource);
  }
  assert.deepEqual([...core.verbs].sort(), ["get", "list", "watch"]);
});

Deno.test("fluent-bit.yaml: it tails container logs in the CRI format, not its own", () => {
  const id = "0123456789abcdef".repeat(4);
  const path = globRegExp(text(tail, "path"));
  const excluded = globRegExp(text(tail, "exclude_path"));
  const vigil =
    `/var/log/containers/vigil-7d9f8c6b5-x2k4q_default_vigil-${id}.log`;
  const own =
    `/var/log/containers/${daemonSet.metadata.name}-8mz2p_${daemonSet.metadata.namespace}_fluent-bit-${id}.log`;
  assert.ok(path.test(vigil) && !excluded.test(vigil));
  assert.ok(path.test(own) && excluded.test(own));
  const multiline = text(tail, "multiline.parser").split(/\s*,\s*/);
  assert.ok(multiline.includes("cri"), String(multiline));
});

Deno.test("fluent-bit.yaml: filters and outputs see the input's records", () => {
  // `tag: kube.*` expands the `*` to the file's path with `/` as `.`.
  const tag = text(tail, "tag").replace(
    "*",
    "var.log.containers.vigil-7d9f8c6b5-x2k4q_default_vigil-0123.log",
  );
  for (const plugin of [...filters, ...outputs]) {
    assert.ok(
      globRegExp(text(plugin, "match"), ".").test(tag),
      text(plugin, "name"),
    );
  }
});

Deno.test("fluent-bit.yaml: the log body is parsed as Vigil's JSON with `timestamp` as the time", () => {
  const filter = parserFilter;
  // The CRI multiline parser puts the container's line in `log`.
  assert.equal(text(filter, "key_name"), "log");
  assert.ok(isOn(filter.reserve_data), "`stream` and the CRI time stay");
  const parser = vigilParser;
  assert.ok(parser, `parser ${filter.parser} is defined`);
  assert.equal(parser.format, "json");
  assert.equal(parser.time_key, "timestamp");
  assert.ok(VIGIL_FIELDS.has(text(parser, "time_key")));
  assert.equal(parser.time_format, "%Y-%m-%dT%H:%M:%S.%L%z");
  assert.ok(isOn(parser.time_keep), "`timestamp` stays in the record");
  // Parsed before the kubernetes filter adds its map, which must not be
  // merged over Vigil's fields a second time.
  const kubernetes = filters.findIndex((f) => f.name === "kubernetes");
  assert.ok(filters.indexOf(filter) < kubernetes);
  assert.ok(!isOn(filters[kubernetes]!.merge_log));
});

Deno.test("fluent-bit.yaml: the time format reads Vigil's timestamps to the millisecond", () => {
  assert.ok(vigilParser);
  const format = text(vigilParser, "time_format");
  assert.equal(
    fluentBitTime(format, EXAMPLE_TIMESTAMP),
    Date.parse(EXAMPLE_TIMESTAMP),
  );
  assert.throws(() => fluentBitTime(format, "2026-12-02 10:00:00"), TypeError);
  fc.assert(
    fc.property(LOG_TIMES, (time) => {
      const { timestamp } = vigilLine(time);
      return fluentBitTime(format, String(timestamp)) === time;
    }),
  );
});

Deno.test("fluent-bit.yaml: every field it names is one Vigil writes", () => {
  const named = new Set<string>();
  for (const parser of fluentBit.parsers) named.add(text(parser, "time_key"));
  for (const plugin of [...inputs, ...filters, ...outputs]) {
    for (const value of Object.values(plugin)) {
      for (const key of recordKeys(String(value))) named.add(key);
    }
  }
  const vigil = [...named].filter((key) => !FLUENT_BIT_KEYS.has(key));
  assert.ok(vigil.length > 0);
  for (const key of vigil) assert.ok(VIGIL_FIELDS.has(key), key);
});

Deno.test("fluent-bit.yaml: Loki's labels are service, environment and level, never an id", () => {
  const loki = outputs.find((output) => output.name === "loki")!;
  const labels = new Map(
    text(loki, "labels").split(",").map((pair) => {
      const [name, value = name] = pair.trim().split("=");
      return [name!.replace(/^\$/, ""), value];
    }),
  );
  const vigilLabels = [...labels.values()].flatMap((value) =>
    recordKeys(value!)
  )
    .filter((key) => !FLUENT_BIT_KEYS.has(key));
  assert.deepEqual(vigilLabels.sort(), ["environment", "level", "service"]);
  // On every line, so no Vigil line lands in a stream without them.
  const line = vigilLine(0);
  for (const label of vigilLabels) assert.ok(label in line, label);
  for (const id of HIGH_CARDINALITY) {
    assert.ok(VIGIL_FIELDS.has(id), id);
    assert.ok(!vigilLabels.includes(id), id);
    assert.ok(!text(loki, "labels").includes(id), id);
  }
  assert.ok(!("label_keys" in loki), "labels in one place");
  assert.equal(loki.line_format, "json");
});

Deno.test("fluent-bit.yaml: both outputs take their hosts from the container's environment", () => {
  const env = new Set(container.env.map((variable) => variable.name));
  const wanted = new Set(["es", "loki"]);
  for (const output of outputs) {
    wanted.delete(String(output.name));
    for (const key of ["host", "port"]) {
      const variable = /^\$\{(\w+)\}$/.exec(text(output, key));
      assert.ok(variable, `${output.name}: ${key} from the environment`);
      assert.ok(env.has(variable[1]!), variable[1]);
    }
  }
  assert.deepEqual([...wanted], []);
});

// --- deploy/logging/filebeat.yaml -------------------------------------------

const filebeat: Section = parse(
  await Deno.readTextFile(
    new URL("../deploy/logging/filebeat.yaml", import.meta.url),
  ),
);
const filebeatInputs = filebeat["filebeat.inputs"] as Section[];
const filestream = filebeatInputs[0]!;
const processors = filestream.processors as Section[];
const processor = (kind: string) => {
  const found = processors.find((candidate) => kind in candidate);
  assert.ok(found, `a ${kind} processor`);
  return found[kind] as Section;
};

/**
 * Parses `time` with a Go layout (reference time Mon Jan 2 15:04:05 MST 2006),
 * as Go's `time.Parse` behind Filebeat's timestamp processor does, and
 * returns milliseconds since the epoch. Supports the elements an ISO 8601
 * layout needs; throws a TypeError for text that does not match. Stricter
 * than Go in one way: a fraction of a second must be in the layout.
 */
function goTime(layout: string, time: string): number {
  const elements: [RegExp, (element: string) => string][] = [
    [/^2006/, () => "(?<year>\\d{4})"],
    [/^01/, () => "(?<month>\\d{2})"],
    [/^02/, () => "(?<day>\\d{2})"],
    [/^15/, () => "(?<hour>\\d{2})"],
    [/^04/, () => "(?<minute>\\d{2})"],
    [/^05/, () => "(?<second>\\d{2})"],
    // `.000`: exactly that many digits; `.999`: optional, at most that many.
    [/^\.0+/, (e) => `\\.(?<fraction>\\d{${e.length - 1}})`],
    [/^\.9+/, (e) => `(?:\\.(?<fraction>\\d{1,${e.length - 1}}))?`],
    [/^Z07:00/, () => "(?<zone>Z|[+-]\\d{2}:\\d{2})"],
  ];
  let source = "";
  for (let rest = layout; rest.length > 0;) {
    const found = elements.find(([pattern]) => pattern.test(rest));
    const element = found ? found[0].exec(rest)![0] : rest[0]!;
    source += found
      ? found[1](element)
      : element.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    rest = rest.slice(element.length);
  }
  const groups = new RegExp(`^${source}$`).exec(time)?.groups;
  if (!groups) throw new TypeError(`"${time}" does not match "${layout}"`);
  const zone = groups.zone ?? "Z";
  const fraction = (groups.fraction ?? "").padEnd(3, "0").slice(0, 3);
  return Date.parse(
    `${groups.year}-${groups.month}-${groups.day}T${groups.hour}:${groups.minute}:${groups.second}.${fraction}${zone}`,
  );
}

Deno.test("filebeat.yaml: it reads the app files, not the error files that repeat their lines", () => {
  assert.equal(filebeatInputs.length, 1);
  assert.equal(filestream.type, "filestream");
  assert.ok(filestream.id, "a filestream input needs a fixed id");
  const paths = filestream.paths as string[];
  assert.ok(paths.length > 0);
  for (const path of paths) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    assert.ok(globRegExp(name).test("app_2026-12-02.log"), path);
    assert.ok(!globRegExp(name).test("error_2026-12-02.log"), path);
    // The directory is Vigil's logging.file.directory, from the environment.
    assert.match(path, /^\$\{VIGIL_LOG_DIR(:[^}]*)?\}\//);
  }
});

Deno.test("filebeat.yaml: each line's JSON fields land at the top level of the event", () => {
  const parsers = filestream.parsers as Section[];
  const ndjson = parsers.find((candidate) => "ndjson" in candidate)
    ?.ndjson as Section | undefined;
  assert.ok(ndjson, "an ndjson parser");
  assert.equal(ndjson.target, "");
  // Vigil's `message` replaces the raw line Filebeat puts there.
  assert.equal(ndjson.overwrite_keys, true);
});

Deno.test("filebeat.yaml: `timestamp` becomes the event time, to the millisecond", () => {
  const timestamp = processor("timestamp");
  assert.equal(timestamp.field, "timestamp");
  assert.ok(VIGIL_FIELDS.has(String(timestamp.field)));
  assert.ok((timestamp.test as string[]).includes(EXAMPLE_TIMESTAMP));
  const layouts = timestamp.layouts as string[];
  const parses = (time: string) =>
    layouts.some((layout) => {
      try {
        return goTime(layout, time) === Date.parse(time);
      } catch (error) {
        if (error instanceof TypeError) return false;
        throw error;
      }
    });
  assert.ok(parses(EXAMPLE_TIMESTAMP));
  assert.ok(!parses("2026-12-02 10:00:00"));
  fc.assert(
    fc.property(LOG_TIMES, (time) => {
      const { timestamp } = vigilLine(time);
      return parses(String(timestamp)) &&
        layouts.some((layout) => goTime(layout, String(timestamp)) === time);
    }),
  );
});

Deno.test("filebeat.yaml: every field its processors name is one Vigil writes", () => {
  const named: string[] = [];
  for (const entry of processors) {
    for (const [kind, options] of Object.entries(entry as Section)) {
      const config = options as Section;
      switch (kind) {
        case "timestamp":
          named.push(String(config.field));
          break;
        case "rename":
        case "copy_fields":
          for (const field of config.fields as { from: string }[]) {
            named.push(field.from);
          }
          break;
        case "drop_fields":
        case "include_fields":
          named.push(...config.fields as string[]);
          break;
        default:
          assert.fail(`Unchecked Filebeat processor: ${kind}`);
      }
    }
  }
  assert.ok(named.length > 0);
  for (const field of named) assert.ok(VIGIL_FIELDS.has(field), field);
  // Strings where Filebeat's index template (ECS) has objects would be
  // rejected by Elasticsearch: `service` and `event` are moved.
  const renamed = (processor("rename").fields as { from: string }[])
    .map((field) => field.from);
  for (const field of ["service", "event"].filter((f) => VIGIL_FIELDS.has(f))) {
    assert.ok(renamed.includes(field), field);
  }
});

Deno.test("filebeat.yaml: the Elasticsearch hosts come from the environment", () => {
  const output = filebeat["output.elasticsearch"] as Section;
  const hosts = output.hosts as string[];
  assert.ok(hosts.length > 0);
  for (const host of hosts) assert.match(host, /^\$\{ELASTICSEARCH_HOSTS/);
});
