/** The lab's etcd: started beside the namespaces, reached by every node over a unix socket. */
import { join } from "node:path";
import { CalicoClient } from "../client/index.js";
import { CalicoResourceStore, EtcdKV } from "../datastore/index.js";
import { clusterSocketEndpoints, memberUrl } from "./etcd-cluster.js";
import { alive, detached, freePort, LabError, sleep } from "./processes.js";
import { type LabPaths, type LabState, loadState } from "./state.js";

/** Where everything inside the lab reaches etcd: its unix socket, or every member's. */
export function labEtcdEndpoints(paths: LabPaths): string[] {
  const members = loadState(paths)?.etcdMembers;
  return members?.length ? clusterSocketEndpoints(paths, members) : [`unix://${paths.etcdSocket}`];
}

/** The store, over the unix socket every namespace can reach. */
export async function withClient<T>(
  paths: LabPaths,
  fn: (client: CalicoClient, store: CalicoResourceStore) => Promise<T>,
): Promise<T> {
  const kv = new EtcdKV({ endpoints: labEtcdEndpoints(paths) });
  try {
    const store = new CalicoResourceStore(kv);
    return await fn(new CalicoClient(store), store);
  } finally {
    await kv.close();
  }
}

export function etcdUrl(state: LabState): string {
  if (state.etcdMembers?.length) return state.etcdMembers.map(memberUrl).join(",");
  return `http://127.0.0.1:${state.etcd?.port}`;
}

/**
 * A single-member etcd in the lab directory; returns once it answers reads. `started` records
 * the process first, so `down` can stop it even if it never becomes ready.
 */
export async function startEtcd(
  paths: LabPaths,
  started: (etcd: { pid: number; port: number }) => void,
): Promise<void> {
  const port = await freePort();
  const peer = await freePort();
  const pid = detached(
    [
      "etcd",
      "--name",
      "calico-lab",
      "--data-dir",
      paths.etcdData,
      "--listen-client-urls",
      `http://127.0.0.1:${port},unix://${paths.etcdSocket.split("/").pop()}`,
      "--advertise-client-urls",
      `http://127.0.0.1:${port}`,
      "--listen-peer-urls",
      `http://127.0.0.1:${peer}`,
      "--initial-advertise-peer-urls",
      `http://127.0.0.1:${peer}`,
      "--initial-cluster",
      `calico-lab=http://127.0.0.1:${peer}`,
    ],
    { PATH: process.env.PATH },
    join(paths.dir, "etcd.log"),
    paths.dir,
  );
  started({ pid, port });
  for (let i = 0; ; i++) {
    const ok = await withClient(paths, async (_c, store) => {
      try {
        await store.kv.get("/calico/lab-probe");
        return true;
      } catch {
        return false;
      }
    });
    if (ok) return;
    if (i > 100 || !alive(pid)) throw new LabError(`etcd did not start; see ${join(paths.dir, "etcd.log")}`);
    await sleep(100);
  }
}
