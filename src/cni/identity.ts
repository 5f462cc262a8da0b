/**
 * Who the workload is: the Calico node name, the orchestrator and workload identifiers derived
 * from CNI_ARGS, and the host-side interface name Felix will recognise by its prefix.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { NetConf } from "./config.js";
import { runEnv } from "./context.js";
import type { CniEnv } from "./env.js";
import { CniError, ErrorCode } from "./errors.js";

export interface WorkloadIdentity {
  node: string;
  orchestrator: "k8s" | "cni";
  /** Kubernetes pod name; empty for `cni`. */
  pod: string;
  namespace: string;
  containerId: string;
  /** Interface name inside the container (CNI_IFNAME). */
  endpoint: string;
}

/** Calico's rule: the file must exist unless the config says it is optional. */
export function requireNodenameFile(conf: NetConf): void {
  if (conf.nodenameFileOptional || existsSync(conf.nodenameFile)) return;
  throw new CniError(
    ErrorCode.internal,
    `stat ${conf.nodenameFile}: no such file or directory: check that the calico/node container is running and has mounted /var/lib/calico/`,
  );
}

/** `nodename` field, then the nodename file, then the deprecated `hostname`, then the OS. */
export function determineNodename(conf: NetConf): string {
  if (conf.nodename) return conf.nodename;
  try {
    const fromFile = readFileSync(conf.nodenameFile, "utf8");
    // Calico takes the file verbatim; a trailing newline from `echo` would only produce an invalid name.
    const name = fromFile.trim();
    if (name !== "") return name;
  } catch {
    // Absent file: fall through to the next source.
  }
  if (conf.hostname) return conf.hostname;
  return hostname().trim().toLowerCase();
}

export function workloadIdentity(conf: NetConf, env: CniEnv): WorkloadIdentity {
  const node = determineNodename(conf);
  const { k8sPodName, k8sPodNamespace } = env.args;
  if (k8sPodName && k8sPodNamespace) {
    return {
      node,
      orchestrator: "k8s",
      pod: k8sPodName,
      namespace: k8sPodNamespace,
      containerId: env.containerId,
      endpoint: env.ifname,
    };
  }
  return {
    node,
    orchestrator: "cni",
    pod: "",
    namespace: runEnv().CNI_TEST_NAMESPACE || "default",
    containerId: env.containerId,
    endpoint: env.ifname,
  };
}

/** First entry of Felix's comma-separated interface prefix list. */
export function interfacePrefix(env: NodeJS.ProcessEnv = runEnv()): string {
  return (env.FELIX_INTERFACEPREFIX ?? "").split(",")[0]?.trim() || "cali";
}

/** Host-side veth name; always at most 15 characters. */
export function hostInterfaceName(id: WorkloadIdentity, prefix = interfacePrefix()): string {
  if (id.orchestrator === "k8s") {
    const digest = createHash("sha1").update(`${id.namespace}.${id.pod}`).digest("hex");
    return `${prefix}${digest.slice(0, 11)}`;
  }
  return `cali${id.containerId.slice(0, 11)}`;
}

/** The "workload ID" Calico used as a handle before network-scoped handles existed. */
export function legacyHandleId(id: WorkloadIdentity): string {
  return id.orchestrator === "k8s" ? `${id.namespace}.${id.pod}` : id.containerId;
}

/** The IPAM handle for this workload on this network. */
export function handleId(networkName: string, id: WorkloadIdentity): string {
  return `${networkName}.${id.containerId}`;
}
