/**
 * Who an address belongs to, from the WorkloadEndpoint resources Felix's syncer delivers (every
 * node's, so a flow's remote end is named too): pod name, namespace, labels and node.
 */

export interface EndpointInfo {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  node: string;
}

interface WepResource {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { pod?: string; workload?: string; node?: string; ipNetworks?: string[] };
}

/** Labels Calico adds for its own bookkeeping are not the user's. */
function userLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) if (!k.startsWith("projectcalico.org/")) out[k] = v;
  return out;
}

export class EndpointLookup {
  readonly #byKey = new Map<string, { info: EndpointInfo; ips: string[] }>();
  readonly #byIp = new Map<string, EndpointInfo>();

  /** A WorkloadEndpoint update from the syncer (`value` null when deleted). */
  onWorkloadEndpoint(key: string, value: unknown): void {
    const old = this.#byKey.get(key);
    if (old) for (const ip of old.ips) if (this.#byIp.get(ip) === old.info) this.#byIp.delete(ip);
    this.#byKey.delete(key);
    const wep = value as WepResource | null;
    if (!wep?.metadata) return;
    const info: EndpointInfo = {
      name: wep.spec?.pod || wep.spec?.workload || wep.metadata.name || "",
      namespace: wep.metadata.namespace ?? "",
      labels: userLabels(wep.metadata.labels),
      node: wep.spec?.node ?? "",
    };
    const ips = (wep.spec?.ipNetworks ?? []).map((n) => n.split("/")[0] ?? n);
    this.#byKey.set(key, { info, ips });
    for (const ip of ips) this.#byIp.set(ip, info);
  }

  lookup(ip: string): EndpointInfo | undefined {
    return this.#byIp.get(ip);
  }

  /** Every known endpoint (for the web view's pod list). */
  all(): EndpointInfo[] {
    return [...this.#byKey.values()].map((e) => e.info);
  }
}
