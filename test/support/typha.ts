/** Typha test helpers: an in-process Typha on a free loopback port, and store-building recorders. */
import type { SyncerCallbacks, SyncStatus, SyncUpdate } from "../../src/datastore/index.js";
import { EtcdKV } from "../../src/datastore/index.js";
import { silentLogger } from "../../src/lib/log.js";
import { parseTyphaParams, type ServerTls, startTypha, type TyphaHandle } from "../../src/typha/index.js";
import { typhaSources } from "../../src/typha/syncer-sources.js";

export interface TestTypha extends TyphaHandle {
  address: string;
  kv: EtcdKV;
  close(): Promise<void>;
}

export async function startTestTypha(
  etcdEndpoint: string,
  params: Record<string, string> = {},
  tls?: ServerTls,
  log = silentLogger(),
): Promise<TestTypha> {
  const kv = new EtcdKV({ endpoints: [etcdEndpoint] });
  const typha = await startTypha({
    params: parseTyphaParams({ ServerHost: "127.0.0.1", ...params }),
    kv,
    sources: typhaSources(),
    log,
    port: 0,
    ...(tls ? { tls } : {}),
  });
  return Object.assign(typha, {
    address: `127.0.0.1:${typha.port}`,
    kv,
    close: async () => {
      await typha.stop();
      await kv.close();
    },
  });
}

/** A consumer that keeps what it was told, like Felix's calc graph or confd would. */
export interface StoreRecorder extends SyncerCallbacks {
  store: Map<string, { source: string; value: unknown }>;
  statuses: SyncStatus[];
  updates: SyncUpdate[];
  inSync(): boolean;
}

export function storeRecorder(): StoreRecorder {
  const rec: StoreRecorder = {
    store: new Map(),
    statuses: [],
    updates: [],
    inSync: () => rec.statuses.includes("InSync"),
    onStatus(status) {
      rec.statuses.push(status);
    },
    onUpdates(updates) {
      for (const u of updates) {
        rec.updates.push(u);
        if (u.type === "deleted") rec.store.delete(u.key);
        else rec.store.set(u.key, { source: u.source, value: u.value });
      }
    },
  };
  return rec;
}

/**
 * The store without resourceVersions: Typha, like Calico's, skips an update whose value equals
 * what it holds apart from the revision, so the revision of an unchanged value may be older.
 */
export function comparable(store: Map<string, { source: string; value: unknown }>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, { source, value }] of [...store].sort(([a], [b]) => (a < b ? -1 : 1))) {
    let v = value;
    const meta = (v as { metadata?: Record<string, unknown> } | null)?.metadata;
    if (meta && "resourceVersion" in meta) {
      const { resourceVersion: _rv, ...rest } = meta;
      v = { ...(v as object), metadata: rest };
    }
    out[key] = { source, value: v };
  }
  return out;
}
