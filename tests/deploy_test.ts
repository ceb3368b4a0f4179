// The deployment manifest checked against the code it deploys.
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { ENV_VARIABLES, parseConfig } from "../src/config/mod.ts";
import { ROUTES } from "../src/base/routes.ts";

/** The parts of the manifests the tests read. */
interface Probe {
  httpGet: { path: string };
}
interface Container {
  command: string[];
  ports: { containerPort: number }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  volumeMounts: { mountPath: string }[];
}
interface Manifest {
  kind: string;
  metadata: { annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec: {
    template: {
      spec: { terminationGracePeriodSeconds: number; containers: Container[] };
    };
  };
}

const manifests: Manifest[] = parseAllDocuments(
  await Deno.readTextFile(
    new URL("../deploy/kubernetes.yaml", import.meta.url),
  ),
).map((document) => {
  assert.deepEqual(document.errors, []);
  return document.toJS();
});
const byKind = (kind: string) => manifests.find((m) => m.kind === kind)!;
const deployment = byKind("Deployment");
const container = deployment.spec.template.spec.containers[0]!;
const configMap = byKind("ConfigMap");
const config = parseConfig(configMap.data!["vigil.yaml"]!, "vigil.yaml");

Deno.test("deploy/kubernetes.yaml: its configuration passes Vigil's own loader", () => {
  assert.equal(config.server.hostname, "0.0.0.0");
  const configArg = container.command.indexOf("--config");
  const path = container.command[configArg + 1];
  const mount = container.volumeMounts[0]!.mountPath;
  assert.equal(path, `${mount}/vigil.yaml`);
  assert.ok(container.command.includes(`--allow-read=${mount}`));
});

Deno.test("deploy/kubernetes.yaml: probes and port are the server's", () => {
  assert.equal(container.livenessProbe.httpGet.path, "/health/live");
  assert.equal(container.readinessProbe.httpGet.path, "/health/ready");
  for (const probe of [container.livenessProbe, container.readinessProbe]) {
    assert.ok((ROUTES as readonly string[]).includes(probe.httpGet.path));
  }
  assert.equal(container.ports[0]!.containerPort, config.server.port);
  const service = byKind("Service");
  const annotations = service.metadata.annotations ?? {};
  assert.equal(annotations["prometheus.io/port"], String(config.server.port));
  assert.equal(annotations["prometheus.io/path"], "/metrics");
});

Deno.test("deploy/kubernetes.yaml: Vigil ends the process before the kubelet would", () => {
  const graceMs = deployment.spec.template.spec.terminationGracePeriodSeconds *
    1000;
  assert.ok(config.server.drainDelayMs <= config.server.shutdownTimeoutMs);
  assert.ok(config.server.shutdownTimeoutMs < graceMs);
});

Deno.test("deploy/kubernetes.yaml: the container gets the task's permissions", () => {
  const task = JSON.parse(
    Deno.readTextFileSync(new URL("../deno.json", import.meta.url)),
  ).tasks.start as string;
  const envFlag =
    container.command.find((arg) => arg.startsWith("--allow-env=")) ?? "";
  assert.deepEqual(envFlag.slice("--allow-env=".length).split(","), [
    ...ENV_VARIABLES,
  ]);
  for (
    const flag of [
      "--ignore-env=LOG_TOKENS,LOG_STREAM",
      "--allow-sys=loadavg,systemMemoryInfo,statfs",
    ]
  ) {
    assert.ok(task.includes(flag) && container.command.includes(flag), flag);
  }
});
