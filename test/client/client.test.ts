/**
 * The client write pipeline over the in-memory backend: defaults, validation, cross-object
 * checks, start-of-day objects and read-side defaults.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { CalicoClient, ValidationFailedError } from "../../src/client/index.js";
import {
  OperationNotSupportedError,
  ResourceNotFoundError,
  UpdateConflictError,
} from "../../src/datastore/errors.js";
import { MemoryKV } from "../../src/datastore/memory/memory-kv.js";
import { CalicoResourceStore } from "../../src/datastore/resources/store.js";

const ROOT = "/calico/resources/v3/projectcalico.org";
const V3 = "projectcalico.org/v3";

function resource(kind: string, name: string, spec: Record<string, unknown>, namespace?: string): Resource {
  return { apiVersion: V3, kind, metadata: namespace ? { name, namespace } : { name }, spec };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to fail");
}

let kv: MemoryKV;
let client: CalicoClient;

async function stored(path: string): Promise<Record<string, unknown>> {
  const got = await kv.get(`${ROOT}/${path}`);
  if (!got) throw new Error(`${path} not stored`);
  return JSON.parse(got.value) as Record<string, unknown>;
}

beforeEach(() => {
  kv = new MemoryKV();
  client = new CalicoClient(new CalicoResourceStore(kv), { sleep: async () => {} });
});

describe("ensureInitialized", () => {
  it("creates ClusterInformation and the three protected tiers", async () => {
    await client.ensureInitialized();
    const info = await stored("clusterinformations/default");
    const spec = info.spec as Record<string, unknown>;
    expect(spec.clusterGUID).toMatch(/^[0-9a-f]{32}$/);
    expect(spec.datastoreReady).toBe(true);
    expect(await stored("tiers/default")).toMatchObject({ spec: { order: 1000000, defaultAction: "Deny" } });
    expect(await stored("tiers/kube-admin")).toMatchObject({ spec: { order: 1000, defaultAction: "Pass" } });
    expect(await stored("tiers/kube-baseline")).toMatchObject({
      spec: { order: 10000000, defaultAction: "Pass" },
    });
  });

  it("is idempotent and only fills in what is missing", async () => {
    await client.ensureInitialized({ clusterType: "k8s,bgp" });
    const first = await stored("clusterinformations/default");
    await client.ensureInitialized();
    expect(await stored("clusterinformations/default")).toEqual(first);
    await client.ensureInitialized({ calicoVersion: "v3.30.0", clusterType: "bgp,typha" });
    const spec = (await stored("clusterinformations/default")).spec as Record<string, unknown>;
    expect(spec).toMatchObject({
      clusterGUID: (first.spec as Record<string, unknown>).clusterGUID,
      clusterType: "k8s,bgp,typha",
      calicoVersion: "v3.30.0",
      datastoreReady: true,
    });
  });

  it("keeps a datastore locked for migration locked", async () => {
    await kv.create(
      `${ROOT}/clusterinformations/default`,
      JSON.stringify({
        kind: "ClusterInformation",
        apiVersion: V3,
        metadata: { name: "default", uid: "u", creationTimestamp: "2026-01-01T00:00:00Z" },
        spec: { datastoreReady: false },
      }),
    );
    await client.ensureInitialized();
    const spec = (await stored("clusterinformations/default")).spec as Record<string, unknown>;
    expect(spec.datastoreReady).toBe(false);
    expect(spec.clusterGUID).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe("policies and tiers", () => {
  it("creates a NetworkPolicy with persisted defaults once the tiers exist", async () => {
    await client.ensureInitialized();
    await client.create(resource("NetworkPolicy", "allow-web", { selector: "app == 'web'" }, "prod"));
    const np = await stored("networkpolicies/prod/allow-web");
    expect(np.spec).toEqual({ tier: "default", selector: "app == 'web'", types: ["Ingress"] });
    expect((np.metadata as Record<string, unknown>).labels).toEqual({ "projectcalico.org/tier": "default" });
  });

  it("rejects a policy naming a tier that does not exist", async () => {
    await client.ensureInitialized();
    const err = await rejection(
      client.create(resource("GlobalNetworkPolicy", "p", { tier: "security", selector: "all()" })),
    );
    expect(err).toBeInstanceOf(ResourceNotFoundError);
    expect(err.message).toBe("resource does not exist: Tier(security) with error: <nil>");
    expect(await kv.get(`${ROOT}/globalnetworkpolicies/p`)).toBeUndefined();
  });

  it("refuses to delete a protected tier", async () => {
    await client.ensureInitialized();
    const err = await rejection(client.delete({ kind: "Tier", name: "default" }));
    expect(err).toBeInstanceOf(OperationNotSupportedError);
    expect(err.message).toBe("operation Delete is not supported on default: Cannot delete default tier");
    expect(await kv.get(`${ROOT}/tiers/default`)).toBeDefined();
  });

  it("refuses to delete a tier policies still use, and deletes it once empty", async () => {
    await client.ensureInitialized();
    await client.create(resource("Tier", "security", { order: 100 }));
    await client.create(resource("GlobalNetworkPolicy", "security.p", { tier: "security" }));
    const err = await rejection(client.delete({ kind: "Tier", name: "security" }));
    expect(err.message).toBe("operation delete is not supported on security: Cannot delete a non-empty tier");
    await client.delete({ kind: "GlobalNetworkPolicy", name: "security.p" });
    await client.delete({ kind: "Tier", name: "security" });
    expect(await kv.get(`${ROOT}/tiers/security`)).toBeUndefined();
  });

  it("with cacheTierLookups, looks each tier up once and forgets tiers it deletes", async () => {
    const store = new CalicoResourceStore(kv);
    let tierGets = 0;
    const counting = Object.assign(Object.create(store) as CalicoResourceStore, {
      get: (key: Parameters<CalicoResourceStore["get"]>[0]) => {
        if (key.kind === "Tier") tierGets++;
        return store.get(key);
      },
    });
    const cached = new CalicoClient(counting, { cacheTierLookups: true });
    await cached.ensureInitialized();
    await cached.create(resource("Tier", "t1", {}));
    for (const name of ["t1.a", "t1.b", "t1.c"]) {
      await cached.create(resource("GlobalNetworkPolicy", name, { tier: "t1" }));
    }
    expect(tierGets).toBe(1);
    for (const name of ["t1.a", "t1.b", "t1.c"]) await cached.delete({ kind: "GlobalNetworkPolicy", name });
    await cached.delete({ kind: "Tier", name: "t1" });
    const err = await rejection(cached.create(resource("GlobalNetworkPolicy", "t1.d", { tier: "t1" })));
    expect(err).toBeInstanceOf(ResourceNotFoundError);
  });

  it("fills the Tier order on List but not on Get", async () => {
    await kv.create(
      `${ROOT}/tiers/bare`,
      JSON.stringify({
        kind: "Tier",
        apiVersion: V3,
        metadata: { name: "bare", uid: "u", creationTimestamp: "2026-01-01T00:00:00Z" },
        spec: {},
      }),
    );
    expect((await client.get({ kind: "Tier", name: "bare" })).spec?.order).toBeUndefined();
    const listed = await client.list("Tier");
    expect(listed.items.find((t) => t.metadata.name === "bare")?.spec?.order).toBe(1000000);
  });

  it("adds the tier label to policies read without it", async () => {
    await kv.create(
      `${ROOT}/globalnetworkpolicies/old`,
      JSON.stringify({
        kind: "GlobalNetworkPolicy",
        apiVersion: V3,
        metadata: { name: "old", uid: "u", creationTimestamp: "2026-01-01T00:00:00Z" },
        spec: { selector: "all()" },
      }),
    );
    const got = await client.get({ kind: "GlobalNetworkPolicy", name: "old" });
    expect(got.metadata.labels).toEqual({ "projectcalico.org/tier": "default" });
  });
});

describe("IP pools", () => {
  it("rejects a CIDR with host bits set and stores a masked one with every default", async () => {
    const err = await rejection(client.create(resource("IPPool", "bad", { cidr: "10.0.0.1/24" })));
    expect(err).toBeInstanceOf(ValidationFailedError);
    expect(err.message).toContain("IPPool CIDR is not strictly masked");
    expect((err as ValidationFailedError).errors.length).toBeGreaterThan(0);
    expect(await kv.get(`${ROOT}/ippools/bad`)).toBeUndefined();

    await client.create(resource("IPPool", "good", { cidr: "10.0.0.0/24" }));
    expect((await stored("ippools/good")).spec).toEqual({
      cidr: "10.0.0.0/24",
      vxlanMode: "Never",
      ipipMode: "Never",
      blockSize: 26,
      nodeSelector: "all()",
      allowedUses: ["Workload", "Tunnel"],
      assignmentMode: "Automatic",
    });
  });

  it("rejects a pool overlapping another on create", async () => {
    await client.create(resource("IPPool", "a", { cidr: "10.1.0.0/16" }));
    const err = await rejection(client.create(resource("IPPool", "b", { cidr: "10.1.2.0/24" })));
    expect(err.message).toContain("IPPool(b) CIDR overlaps with IPPool(a) CIDR 10.1.0.0/16");
  });

  it("rejects a pool whose block size differs from blocks already allocated in it", async () => {
    await kv.create("/calico/ipam/v2/assignment/ipv4/block/10.2.0.0-26", "{}");
    const err = await rejection(
      client.create(resource("IPPool", "p", { cidr: "10.2.0.0/16", blockSize: 24 })),
    );
    expect(err.message).toContain(
      "IPPool blocksSize conflicts with existing allocations that use a different blockSize",
    );
    await client.create(resource("IPPool", "p", { cidr: "10.2.0.0/16", blockSize: 26 }));
  });

  it("keeps CIDR and block size immutable on update", async () => {
    const created = await client.create(resource("IPPool", "p", { cidr: "10.3.0.0/16" }));
    const err = await rejection(
      client.update({ ...created, spec: { ...created.spec, cidr: "10.4.0.0/16" } }),
    );
    expect(err.message).toContain("IPPool CIDR cannot be modified");
    const err2 = await rejection(client.update({ ...created, spec: { ...created.spec, blockSize: 28 } }));
    expect(err2.message).toContain("IPPool BlockSize cannot be modified");
    const updated = await client.update({ ...created, spec: { ...created.spec, natOutgoing: true } });
    expect(updated.spec?.natOutgoing).toBe(true);
  });

  it("fills pool defaults into objects stored without them", async () => {
    await kv.create(
      `${ROOT}/ippools/legacy`,
      JSON.stringify({
        kind: "IPPool",
        apiVersion: V3,
        metadata: { name: "legacy", uid: "u", creationTimestamp: "2026-01-01T00:00:00Z" },
        spec: { cidr: "fd00::/48" },
      }),
    );
    const got = await client.get({ kind: "IPPool", name: "legacy" });
    expect(got.spec).toMatchObject({ blockSize: 122, nodeSelector: "all()", ipipMode: "Never" });
    expect((await client.list("IPPool")).items[0]?.spec?.allowedUses).toEqual(["Workload", "Tunnel"]);
  });

  it("disables an enabled pool, releases its affinities, then deletes it", async () => {
    const calls: string[] = [];
    const store = new CalicoResourceStore(kv);
    const withHook = new CalicoClient(store, {
      sleep: async (ms) => {
        calls.push(`sleep ${ms}`);
      },
      releasePoolAffinities: async (cidr) => {
        const seen = await store.get({ kind: "IPPool", name: "p" });
        calls.push(`release ${cidr} disabled=${String(seen.spec?.disabled)}`);
      },
    });
    await withHook.create(resource("IPPool", "p", { cidr: "10.5.0.0/16" }));
    await withHook.delete({ kind: "IPPool", name: "p" });
    expect(calls).toEqual(["sleep 500", "release 10.5.0.0/16 disabled=true"]);
    expect(await kv.get(`${ROOT}/ippools/p`)).toBeUndefined();
  });

  it("applies a delete precondition to the disabling write", async () => {
    await client.create(resource("IPPool", "p", { cidr: "10.6.0.0/16" }));
    const err = await rejection(client.delete({ kind: "IPPool", name: "p" }, { resourceVersion: "1" }));
    expect(err).toBeInstanceOf(UpdateConflictError);
    expect(await kv.get(`${ROOT}/ippools/p`)).toBeDefined();
  });
});

describe("singletons and per-kind rules", () => {
  it("refuses ClusterInformation under another name", async () => {
    const err = await rejection(client.create(resource("ClusterInformation", "other", {})));
    expect(err.message).toContain(
      'Cannot create a Cluster Information resource with a name other than "default"',
    );
  });

  it("refuses default-only BGP fields on a per-node BGPConfiguration", async () => {
    const err = await rejection(client.create(resource("BGPConfiguration", "node.n1", { asNumber: 65000 })));
    expect(err.message).toContain("on a non default BGP Configuration.");
    await client.create(resource("BGPConfiguration", "default", { asNumber: 65000 }));
    expect((await stored("bgpconfigurations/default")).spec).toMatchObject({
      asNumber: 65000,
      logSeverityScreen: "Info",
    });
  });

  it("stores objects in canonical Go field order", async () => {
    await client.create(resource("Tier", "t", { defaultAction: "Pass", order: 5 }));
    const raw = (await kv.get(`${ROOT}/tiers/t`))?.value ?? "";
    expect(raw.indexOf('"order"')).toBeLessThan(raw.indexOf('"defaultAction"'));
    expect(raw.startsWith('{"kind":"Tier","apiVersion":"projectcalico.org/v3"')).toBe(true);
  });
});

describe("identity checks the validator leaves to the client and the resource layer", () => {
  const wep = (name: string, spec: Record<string, unknown>) =>
    resource("WorkloadEndpoint", name, { interfaceName: "cali1", ...spec }, "ns1");
  const ids = { orchestrator: "k8s", node: "node1", pod: "web-0", endpoint: "eth0" };

  it("derives a WorkloadEndpoint's name from its identifiers, or requires the name to match", async () => {
    await client.create(wep("", ids));
    expect((await stored("workloadendpoints/ns1/node1-k8s-web--0-eth0")).spec).toMatchObject(ids);
    const err = await rejection(client.create(wep("node1-k8s-web-0-eth0", ids)));
    expect(err).toBeInstanceOf(ValidationFailedError);
    expect(err.message).toBe(
      "error with field metadata.name = 'node1-k8s-web-0-eth0' (the WorkloadEndpoint name does not match the primary identifiers assigned in the Spec: expected name node1-k8s-web--0-eth0)",
    );
  });

  it("reports a missing identifier before validating the rest", async () => {
    const err = await rejection(client.create(wep("", { ...ids, pod: "", interfaceName: "" })));
    expect(err.message).toBe("error with field spec.pod = '' (field should be assigned)");
  });

  it("requires a namespace on namespaced kinds, with Calico's wording", async () => {
    const err = await rejection(client.create(resource("NetworkSet", "s", {})));
    expect(err.message).toBe(
      "error with field Metadata.Namespace (namespace is not specified on namespaced resource)",
    );
    const global = await rejection(client.create(resource("Profile", "p", {}, "ns1")));
    expect(global.message).toBe(
      "error with field Metadata.Namespace = 'ns1' (namespace should not be specified for a non-namespaced resource. Profile is not a namespaced resource)",
    );
  });
});
