/**
 * Random datastore churn over what Felix and confd watch: resources of several kinds created,
 * changed (sometimes to the same value: a no-op write), and deleted, plus raw IPAM blocks and
 * affinities. Deterministic for a seed.
 */
import type { Resource } from "../../src/api/meta.js";
import type { CalicoResourceStore, KVStore } from "../../src/datastore/index.js";
import { prng } from "./prng.js";

const API = "projectcalico.org/v3";

function resource(kind: string, i: number, version: number): Resource {
  const name = `${kind.toLowerCase()}-${i}`;
  switch (kind) {
    case "IPPool":
      return {
        apiVersion: API,
        kind,
        metadata: { name },
        spec: { cidr: `10.${i}.0.0/16`, blockSize: 26 + (version % 3) },
      };
    case "Node":
      return {
        apiVersion: API,
        kind,
        metadata: { name: `node${i}`, labels: { v: String(version) } },
        spec: { bgp: { ipv4Address: `172.31.0.${i + 1}/24` } },
      };
    case "NetworkPolicy":
      return {
        apiVersion: API,
        kind,
        metadata: { name, namespace: i % 2 ? "dev" : "prod" },
        spec: { selector: `app == 'a${version}'`, ingress: [{ action: "Allow" }], types: ["Ingress"] },
      };
    case "GlobalNetworkPolicy":
      return { apiVersion: API, kind, metadata: { name }, spec: { order: version, selector: "all()" } };
    case "Profile":
      return { apiVersion: API, kind, metadata: { name }, spec: { labelsToApply: { v: String(version) } } };
    case "BGPPeer":
      return {
        apiVersion: API,
        kind,
        metadata: { name },
        spec: { peerIP: `172.31.1.${i + 1}`, asNumber: 64500 + version },
      };
    default:
      return {
        apiVersion: API,
        kind: "HostEndpoint",
        metadata: { name },
        spec: { node: `node${i}`, interfaceName: `eth${version % 4}` },
      };
  }
}

const KINDS = [
  "IPPool",
  "Node",
  "NetworkPolicy",
  "GlobalNetworkPolicy",
  "Profile",
  "BGPPeer",
  "HostEndpoint",
];

/** Runs `ops` random operations; returns how many were no-op rewrites. */
export async function churn(
  store: CalicoResourceStore,
  kv: KVStore,
  seed: number,
  ops: number,
): Promise<number> {
  const rnd = prng(seed);
  const pick = (n: number) => Math.floor(rnd() * n);
  let noops = 0;
  for (let op = 0; op < ops; op++) {
    const roll = rnd();
    if (roll < 0.15) {
      // Raw IPAM keys: a block (Felix) and its affinity (confd).
      const i = pick(6);
      const block = `/calico/ipam/v2/assignment/ipv4/block/10.200.${i}.0-26`;
      const affinity = `/calico/ipam/v2/host/node${i % 3}/ipv4/block/10.200.${i}.0-26`;
      if (rnd() < 0.3) {
        await kv.delete(block).catch(() => undefined);
        await kv.delete(affinity).catch(() => undefined);
      } else {
        await kv.put(
          block,
          JSON.stringify({
            cidr: `10.200.${i}.0/26`,
            affinity: `host:node${i % 3}`,
            allocations: [pick(5)],
            unallocated: [],
            attributes: [],
          }),
        );
        await kv.put(affinity, JSON.stringify({ state: "confirmed", deleted: "false" }));
      }
      continue;
    }
    const kind = KINDS[pick(KINDS.length)] as string;
    const i = pick(5);
    const want = resource(kind, i, pick(4));
    const key = {
      kind,
      name: want.metadata.name as string,
      ...(want.metadata.namespace ? { namespace: want.metadata.namespace } : {}),
    };
    let current: Resource | undefined;
    try {
      current = await store.get(key);
    } catch {
      current = undefined;
    }
    if (!current) await store.create(want);
    else if (roll > 0.85) await store.delete(key);
    else {
      if (
        JSON.stringify(current.spec) === JSON.stringify(want.spec) &&
        JSON.stringify(current.metadata.labels) === JSON.stringify(want.metadata.labels)
      )
        noops++;
      await store.update({
        ...want,
        metadata: { ...current.metadata, labels: want.metadata.labels },
      } as Resource);
    }
  }
  return noops;
}
