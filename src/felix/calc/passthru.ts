/**
 * Facts the dataplane takes nearly verbatim (Felix's DataplanePassthru, EncapsulationResolver
 * and VXLANResolver): IP pools, every node's addresses and labels, which encapsulations are in
 * use, and each node's VXLAN tunnel endpoint once it has both a tunnel address and a node IP.
 */
import { createHash } from "node:crypto";
import type { EventSequencer } from "./event-sequencer.js";
import type { Encapsulation, VXLANTunnelEndpointUpdate } from "./messages.js";
import type { ModelNode, ModelPool } from "./model/types.js";

/** Felix's derived VTEP MAC: 0x66 (locally administered, unicast) then 5 bytes of SHA-1(name). */
export function vtepMac(nodeName: string): string {
  const hash = createHash("sha1").update(nodeName).digest();
  return [0x66, ...hash.subarray(0, 5)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

export class Passthru {
  readonly #pools = new Map<string, ModelPool>();
  readonly #vteps = new Map<string, string>();
  #lastEncap: string | undefined;
  #poolsChanged = true;

  constructor(private readonly sequencer: EventSequencer) {}

  onPool = (update: { key: string; value: ModelPool | null }): void => {
    const id = update.key.replace("/", "-");
    this.#poolsChanged = true;
    if (update.value) {
      this.#pools.set(update.key, update.value);
      const p = update.value;
      this.sequencer.onPoolUpdate({
        type: "IPAMPoolUpdate",
        id,
        pool: {
          cidr: p.cidr,
          masquerade: p.natOutgoing,
          ipipMode: p.ipipMode,
          vxlanMode: p.vxlanMode,
          disabled: p.disabled,
          allowedUses: [...p.allowedUses],
        },
      });
    } else {
      this.#pools.delete(update.key);
      this.sequencer.onPoolRemove({ type: "IPAMPoolRemove", id });
    }
  };

  onNode = (update: { key: string; value: ModelNode | null }): void => {
    const node = update.value;
    if (!node) {
      this.sequencer.onHostMetadataRemove({ type: "HostMetadataRemove", hostname: update.key });
      this.#setVtep(update.key, undefined);
      return;
    }
    this.sequencer.onHostMetadataUpdate({
      type: "HostMetadataUpdate",
      hostname: node.name,
      ipv4Addr: node.ipv4,
      ipv6Addr: node.ipv6,
      asNumber: node.asNumber,
      labels: { ...node.labels },
    });
    this.#setVtep(
      node.name,
      node.ipv4VxlanTunnelAddr && node.ipv4
        ? {
            type: "VXLANTunnelEndpointUpdate",
            node: node.name,
            mac: node.vxlanTunnelMac ?? vtepMac(node.name),
            ipv4Addr: node.ipv4VxlanTunnelAddr,
            parentDeviceIp: node.ipv4,
          }
        : undefined,
    );
  };

  #setVtep(node: string, msg: VXLANTunnelEndpointUpdate | undefined): void {
    const text = msg && JSON.stringify(msg);
    if (this.#vteps.get(node) === text) return;
    if (msg && text) {
      this.#vteps.set(node, text);
      this.sequencer.onVtepUpdate(msg);
    } else {
      this.#vteps.delete(node);
      this.sequencer.onVtepRemove({ type: "VXLANTunnelEndpointRemove", node });
    }
  }

  /** Emits the encapsulation summary when it differs from the last one sent. */
  flush(): void {
    if (!this.#poolsChanged) return;
    this.#poolsChanged = false;
    const pools = [...this.#pools.values()];
    const msg: Encapsulation = {
      type: "Encapsulation",
      ipipEnabled: pools.some((p) => p.ipipMode !== "Never"),
      vxlanEnabled: pools.some((p) => p.vxlanMode !== "Never" && !p.cidr.includes(":")),
      vxlanEnabledV6: pools.some((p) => p.vxlanMode !== "Never" && p.cidr.includes(":")),
    };
    const text = JSON.stringify(msg);
    if (text === this.#lastEncap) return;
    this.#lastEncap = text;
    this.sequencer.onEncapsulation(msg);
  }
}
