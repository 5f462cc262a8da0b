/**
 * A three-member etcd cluster on 127.0.0.1-3 (all of 127/8 is loopback), for quorum-loss tests.
 * Members can be killed individually.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

async function freePort(host: string): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, host, r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

export interface EtcdMember {
  name: string;
  endpoint: string;
  kill(): Promise<void>;
}

export interface EtcdCluster {
  members: EtcdMember[];
  stop(): Promise<void>;
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`);
    return ((await res.json()) as { health?: string }).health === "true";
  } catch {
    return false;
  }
}

export async function startEtcdCluster(): Promise<EtcdCluster> {
  const dir = await mkdtemp(join(tmpdir(), "calico-ts-etcd3-"));
  const specs = await Promise.all(
    [1, 2, 3].map(async (i) => {
      const host = `127.0.0.${i}`;
      return {
        name: `m${i}`,
        client: `http://${host}:${await freePort(host)}`,
        peer: `http://${host}:${await freePort(host)}`,
      };
    }),
  );
  const initialCluster = specs.map((s) => `${s.name}=${s.peer}`).join(",");
  const procs: ChildProcess[] = [];
  const members = specs.map((s): EtcdMember => {
    const proc = spawn(
      "etcd",
      [
        "--name",
        s.name,
        "--data-dir",
        join(dir, s.name),
        "--listen-client-urls",
        s.client,
        "--advertise-client-urls",
        s.client,
        "--listen-peer-urls",
        s.peer,
        "--initial-advertise-peer-urls",
        s.peer,
        "--initial-cluster",
        initialCluster,
        "--initial-cluster-state",
        "new",
        "--initial-cluster-token",
        `calico-ts-${process.pid}`,
        "--log-level",
        "error",
      ],
      { stdio: "ignore" },
    );
    procs.push(proc);
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    return {
      name: s.name,
      endpoint: s.client,
      async kill() {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
        await exited;
      },
    };
  });
  const stop = async () => {
    await Promise.all(members.map((m) => m.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (const member of members) {
    while (!(await healthy(member.endpoint))) {
      if (Date.now() > deadline || procs.some((p) => p.exitCode !== null)) {
        await stop();
        throw new Error("etcd cluster did not become healthy");
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { members, stop };
}
