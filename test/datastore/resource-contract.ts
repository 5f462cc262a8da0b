/**
 * The ResourceStore contract (Calico key layout, value encoding, CAS, metadata rules, the
 * default-allow profile, watches), run over every KV backend. Names are made unique per test so
 * one store serves the whole suite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS } from "../../src/api/kinds.js";
import type { Resource } from "../../src/api/meta.js";
import {
  InvalidRequestError,
  OperationNotSupportedError,
  ResourceAlreadyExistsError,
  ResourceNotFoundError,
  UpdateConflictError,
} from "../../src/datastore/errors.js";
import type { KVStore } from "../../src/datastore/kv.js";
import { CalicoResourceStore } from "../../src/datastore/resources/store.js";
import type { ResourceWatchEvent } from "../../src/datastore/types.js";
import { eventually } from "../support/datastore.js";

const ROOT = "/calico/resources/v3/projectcalico.org";
let counter = 0;
const unique = (base: string) => `${base}-${++counter}`;

function make(kind: string, name: string, namespace?: string, spec: Record<string, unknown> = {}): Resource {
  return {
    apiVersion: "projectcalico.org/v3",
    kind,
    metadata: namespace ? { name, namespace } : { name },
    spec,
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to fail");
}

export function resourceStoreContract(
  name: string,
  open: () => Promise<{ kv: KVStore; teardown(): Promise<void> }>,
) {
  describe(`ResourceStore contract: ${name}`, () => {
    let kv: KVStore;
    let store: CalicoResourceStore;
    let teardown: () => Promise<void>;
    beforeAll(async () => {
      ({ kv, teardown } = await open());
      store = new CalicoResourceStore(kv);
    });
    afterAll(async () => {
      await teardown();
    });

    it.each(KINDS.map((k) => [k.kind, k.plural, k.namespaced] as const))(
      "round-trips %s under its Calico key",
      async (kind, plural, namespaced) => {
        const name = unique("rt");
        const ns = namespaced ? "ns-rt" : undefined;
        const resource = make(kind, name, ns, { b: 1, a: 2 });
        resource.metadata.labels = {};
        resource.metadata.selfLink = "/apis/x";
        const created = await store.create(resource);
        const path = namespaced ? `${ROOT}/${plural}/ns-rt/${name}` : `${ROOT}/${plural}/${name}`;
        const raw = await kv.get(path);
        expect(raw).toBeDefined();
        const stored = JSON.parse(raw!.value) as Resource;
        expect(Object.keys(stored)).toEqual(["kind", "apiVersion", "metadata", "spec"]);
        expect(stored.metadata.resourceVersion).toBeUndefined();
        expect(stored.metadata.selfLink).toBeUndefined();
        expect(stored.metadata.labels).toBeUndefined();
        expect(stored.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
        expect(stored.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(Object.keys(stored.spec!)).toEqual(["b", "a"]);
        expect(created.metadata.resourceVersion).toBe(raw!.modRevision);
        const got = await store.get(ns ? { kind, name, namespace: ns } : { kind, name });
        expect(got.metadata.resourceVersion).toBe(raw!.modRevision);
        expect(got.metadata.name).toBe(name);
        expect(got.metadata.annotations).toBeUndefined();
        expect(got.spec).toEqual({ b: 1, a: 2 });
      },
    );

    it("stores policies with the name annotation, sorted maps and Go's escaping", async () => {
      const name = unique("allow-web");
      const policy: Resource = {
        apiVersion: "projectcalico.org/v3",
        kind: "NetworkPolicy",
        metadata: {
          name,
          namespace: "prod",
          uid: "u-1",
          creationTimestamp: "2026-01-01T00:00:00Z",
          resourceVersion: "",
          labels: { z: "1", "projectcalico.org/tier": "default" },
        },
        spec: { tier: "default", order: 100, selector: "app == 'web' && tier != 'db'", types: ["Ingress"] },
      };
      await store.create(policy);
      const raw = await kv.get(`${ROOT}/networkpolicies/prod/${name}`);
      expect(raw?.value).toBe(
        `{"kind":"NetworkPolicy","apiVersion":"projectcalico.org/v3","metadata":{"name":"${name}","namespace":"prod",` +
          `"uid":"u-1","creationTimestamp":"2026-01-01T00:00:00Z","labels":{"projectcalico.org/tier":"default","z":"1"},` +
          `"annotations":{"projectcalico.org/metadata":"{\\"name\\":\\"${name}\\"}"}},"spec":{"tier":"default","order":100,` +
          `"selector":"app == 'web' \\u0026\\u0026 tier != 'db'","types":["Ingress"]}}`,
      );
      const got = await store.get({ kind: "NetworkPolicy", name, namespace: "prod" });
      expect(got.metadata.annotations).toBeUndefined();
      expect(got.spec?.selector).toBe("app == 'web' && tier != 'db'");
    });

    it("reads legacy default-tier policy names without the default. prefix", async () => {
      const legacy = unique("legacy");
      await kv.put(
        `${ROOT}/globalnetworkpolicies/default.${legacy}`,
        JSON.stringify({
          kind: "GlobalNetworkPolicy",
          metadata: { name: `default.${legacy}` },
          spec: { tier: "default" },
        }),
      );
      await kv.put(
        `${ROOT}/globalnetworkpolicies/default.${legacy}-t`,
        JSON.stringify({
          kind: "GlobalNetworkPolicy",
          metadata: { name: `default.${legacy}-t` },
          spec: { tier: "other" },
        }),
      );
      const got = await store.get({ kind: "GlobalNetworkPolicy", name: `default.${legacy}` });
      expect(got.metadata.name).toBe(legacy);
      const other = await store.get({ kind: "GlobalNetworkPolicy", name: `default.${legacy}-t` });
      expect(other.metadata.name).toBe(`default.${legacy}-t`);
    });

    it("create twice fails with already exists", async () => {
      const name = unique("pool");
      const first = await store.create(make("IPPool", name, undefined, { cidr: "10.0.0.0/24" }));
      const err = await rejection(store.create(make("IPPool", name, undefined, { cidr: "10.9.0.0/24" })));
      expect(err).toBeInstanceOf(ResourceAlreadyExistsError);
      expect(err.message).toBe(`resource already exists: IPPool(${name}) with error: <nil>`);
      expect((err as ResourceAlreadyExistsError).existing).toMatchObject({
        spec: { cidr: "10.0.0.0/24" },
        metadata: { resourceVersion: first.metadata.resourceVersion },
      });
    });

    it("update is a compare-and-swap on resourceVersion", async () => {
      const name = unique("np");
      const created = await store.create(make("NetworkPolicy", name, "ns1", { order: 1 }));
      const updated = await store.update({ ...created, spec: { order: 2 } });
      expect(BigInt(updated.metadata.resourceVersion!)).toBeGreaterThan(
        BigInt(created.metadata.resourceVersion!),
      );
      expect(updated.metadata.uid).toBe(created.metadata.uid);
      const stale = await rejection(store.update({ ...created, spec: { order: 3 } }));
      expect(stale).toBeInstanceOf(UpdateConflictError);
      expect(stale.message).toBe(`update conflict: NetworkPolicy(ns1/${name})`);
      expect((stale as UpdateConflictError).latest).toMatchObject({ spec: { order: 2 } });
      const gone = await rejection(
        store.update({ ...created, metadata: { ...created.metadata, name: unique("missing") } }),
      );
      expect(gone).toBeInstanceOf(ResourceNotFoundError);
      expect(gone.message).toMatch(
        /^resource does not exist: NetworkPolicy\(ns1\/missing-\d+\) with error: <nil>$/,
      );
      expect((await store.get({ kind: "NetworkPolicy", name, namespace: "ns1" })).spec).toEqual({ order: 2 });
    });

    it("delete honours resourceVersion and reports missing objects", async () => {
      const name = unique("gns");
      const created = await store.create(make("GlobalNetworkSet", name, undefined, { nets: ["10.0.0.0/8"] }));
      const updated = await store.update({ ...created, spec: { nets: [] } });
      const stale = await rejection(
        store.delete(
          { kind: "GlobalNetworkSet", name },
          { resourceVersion: created.metadata.resourceVersion! },
        ),
      );
      expect(stale).toBeInstanceOf(UpdateConflictError);
      expect(stale.message).toBe(`update conflict: GlobalNetworkSet(${name})`);
      const deleted = await store.delete(
        { kind: "GlobalNetworkSet", name },
        { resourceVersion: updated.metadata.resourceVersion! },
      );
      expect(deleted).toMatchObject({
        spec: { nets: [] },
        metadata: { resourceVersion: updated.metadata.resourceVersion },
      });
      const missing = await rejection(store.delete({ kind: "GlobalNetworkSet", name }));
      expect(missing).toBeInstanceOf(ResourceNotFoundError);
      expect(missing.message).toBe(`resource does not exist: GlobalNetworkSet(${name}) with error: <nil>`);
      await expect(store.get({ kind: "GlobalNetworkSet", name })).rejects.toThrow(
        `resource does not exist: GlobalNetworkSet(${name}) with error: <nil>`,
      );
    });

    it("enforces Calico's metadata rules with its error texts", async () => {
      const withRV = make("IPPool", unique("p"));
      withRV.metadata.resourceVersion = "12345";
      await expect(store.create(withRV)).rejects.toThrow(
        "error with field Metadata.ResourceVersion = '12345' (field must not be set for a Create request)",
      );
      await expect(store.create(make("NetworkPolicy", unique("p")))).rejects.toThrow(
        "error with field Metadata.Namespace (namespace is not specified on namespaced resource)",
      );
      await expect(store.create(make("IPPool", unique("p"), "ns1"))).rejects.toBeInstanceOf(
        InvalidRequestError,
      );
      await expect(store.create(make("IPPool", ""))).rejects.toThrow(
        "error with field Metadata.Name = '' (field must be set for a Create request)",
      );
      const created = await store.create(make("IPPool", unique("p")));
      await expect(
        store.update({ ...created, metadata: { ...created.metadata, resourceVersion: "" } }),
      ).rejects.toThrow(
        "error with field Metadata.ResourceVersion = '' (field must be set for an Update request)",
      );
      await expect(
        store.update({ ...created, metadata: { ...created.metadata, creationTimestamp: undefined } }),
      ).rejects.toThrow(
        "error with field Metadata.CreationTimestamp = '0001-01-01 00:00:00 +0000 UTC' (field must be set for an Update request)",
      );
      await expect(
        store.update({ ...created, metadata: { ...created.metadata, uid: undefined } }),
      ).rejects.toThrow("error with field Metadata.UID = '' (field must be set for an Update request)");
      await expect(
        store.update({ ...created, metadata: { ...created.metadata, resourceVersion: "abc" } }),
      ).rejects.toThrow("error with field ResourceVersion = 'abc'");
      await expect(store.get({ kind: "NoSuchKind", name: "x" })).rejects.toThrow(
        "resource type 'NoSuchKind' is not supported",
      );
    });

    it("lists one namespace without its prefix siblings, in key order", async () => {
      const tag = unique("set");
      for (const [ns, n] of [
        ["ns10", "a"],
        ["ns1", "b"],
        ["ns1", "a"],
        ["ns2", "a"],
      ] as const) {
        await store.create(make("NetworkSet", `${tag}-${n}`, ns, {}));
      }
      const ns1 = await store.list("NetworkSet", { namespace: "ns1" });
      expect(ns1.items.map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
        `ns1/${tag}-a`,
        `ns1/${tag}-b`,
      ]);
      const all = await store.list("NetworkSet");
      const mine = all.items.filter((r) => r.metadata.name?.startsWith(tag));
      expect(mine.map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
        `ns1/${tag}-a`,
        `ns1/${tag}-b`,
        `ns10/${tag}-a`,
        `ns2/${tag}-a`,
      ]);
      expect(BigInt(all.revision)).toBeGreaterThanOrEqual(
        BigInt(all.items.at(-1)!.metadata.resourceVersion!),
      );
      for (const item of all.items) {
        const raw = await kv.get(`${ROOT}/networksets/${item.metadata.namespace}/${item.metadata.name}`);
        expect(item.metadata.resourceVersion).toBe(raw?.modRevision);
      }
    });

    it("skips keys and values it cannot read when listing", async () => {
      const good = unique("hep");
      await store.create(make("HostEndpoint", good, undefined, { node: "n1" }));
      await kv.put(`${ROOT}/hostendpoints/extra/segment`, "{}");
      await kv.put(`${ROOT}/hostendpoints/${unique("broken")}`, "not json");
      const names = (await store.list("HostEndpoint")).items.map((r) => r.metadata.name);
      expect(names).toContain(good);
      expect(names.every((n) => n === good || !n?.startsWith("broken"))).toBe(true);
      expect(names).not.toContain("segment");
    });

    it("reads an object as of an earlier revision", async () => {
      const name = unique("felix");
      const v1 = await store.create(
        make("FelixConfiguration", name, undefined, { logSeverityScreen: "Info" }),
      );
      await store.update({ ...v1, spec: { logSeverityScreen: "Debug" } });
      const old = await store.get(
        { kind: "FelixConfiguration", name },
        { revision: v1.metadata.resourceVersion! },
      );
      expect(old.spec).toEqual({ logSeverityScreen: "Info" });
      expect(old.metadata.resourceVersion).toBe(v1.metadata.resourceVersion);
    });

    it("presents the built-in default-allow profile without storing it", async () => {
      const expected = {
        kind: "Profile",
        apiVersion: "projectcalico.org/v3",
        metadata: { name: "projectcalico-default-allow", resourceVersion: "1" },
        spec: { ingress: [{ action: "Allow" }], egress: [{ action: "Allow" }] },
      };
      expect(await store.get({ kind: "Profile", name: "projectcalico-default-allow" })).toEqual(expected);
      await store.create(make("Profile", "aaa-profile"));
      await store.create(make("Profile", "zzz-profile"));
      const names = (await store.list("Profile")).items.map((r) => r.metadata.name);
      expect(
        names.filter((n) => ["aaa-profile", "projectcalico-default-allow", "zzz-profile"].includes(n!)),
      ).toEqual(["aaa-profile", "projectcalico-default-allow", "zzz-profile"]);
      expect(await kv.get(`${ROOT}/profiles/projectcalico-default-allow`)).toBeUndefined();
      await expect(store.create(make("Profile", "projectcalico-default-allow"))).rejects.toBeInstanceOf(
        OperationNotSupportedError,
      );
    });

    it("watch without a revision lists, then follows live changes with no gap", async () => {
      const tag = unique("w");
      const ns = `ns-${tag}`;
      const first = await store.create(make("WorkloadEndpoint", `${tag}-1`, ns, { node: "n1" }));
      const events: ResourceWatchEvent[] = [];
      const errors: Error[] = [];
      const w = store.watch(
        "WorkloadEndpoint",
        { namespace: ns },
        {
          onEvent: (e) => events.push(e),
          onError: (e) => errors.push(e),
        },
      );
      const second = await store.create(make("WorkloadEndpoint", `${tag}-2`, ns, { node: "n2" }));
      const updated = await store.update({ ...first, spec: { node: "n3" } });
      await kv.put(`${ROOT}/workloadendpoints/${ns}/${tag}-bad`, "{not json");
      await store.delete({ kind: "WorkloadEndpoint", name: `${tag}-2`, namespace: ns });
      await eventually(() => expect(events).toHaveLength(5));
      expect(events[0]).toMatchObject({ type: "added", revision: first.metadata.resourceVersion });
      expect(events[1]).toMatchObject({ type: "added", revision: second.metadata.resourceVersion });
      expect(events[2]).toMatchObject({
        type: "modified",
        revision: updated.metadata.resourceVersion,
        resource: { spec: { node: "n3" } },
        previous: { spec: { node: "n1" } },
      });
      expect(events[3]).toMatchObject({ type: "error", key: `${ROOT}/workloadendpoints/${ns}/${tag}-bad` });
      expect(events[4]).toMatchObject({
        type: "deleted",
        key: { kind: "WorkloadEndpoint", name: `${tag}-2`, namespace: ns },
        previous: { spec: { node: "n2" }, metadata: { resourceVersion: second.metadata.resourceVersion } },
      });
      expect(errors).toEqual([]);
      await w.close();
    });

    it("watch from a revision delivers only later events", async () => {
      const tag = unique("bgp");
      const a = await store.create(make("BGPPeer", `${tag}-a`, undefined, { asNumber: 1 }));
      await store.create(make("BGPPeer", `${tag}-b`, undefined, { asNumber: 2 }));
      const events: ResourceWatchEvent[] = [];
      const w = store.watch(
        "BGPPeer",
        { afterRevision: a.metadata.resourceVersion! },
        {
          onEvent: (e) => events.push(e),
          onError: () => undefined,
        },
      );
      await eventually(() => expect(events.filter((e) => e.type !== "error")).toHaveLength(1));
      expect(events[0]).toMatchObject({ type: "added", resource: { metadata: { name: `${tag}-b` } } });
      await w.close();
    });

    it("profile watches never show the built-in profile", async () => {
      const events: ResourceWatchEvent[] = [];
      const w = store.watch("Profile", {}, { onEvent: (e) => events.push(e), onError: () => undefined });
      const name = unique("prof");
      await store.create(make("Profile", name));
      await eventually(() =>
        expect(events.some((e) => e.type === "added" && e.key.name === name)).toBe(true),
      );
      expect(events.some((e) => e.type !== "error" && e.key.name === "projectcalico-default-allow")).toBe(
        false,
      );
      await w.close();
    });
  });
}
