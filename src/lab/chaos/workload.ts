/**
 * The steady workload `calico-lab chaos` keeps running while it injects faults: long-lived TCP
 * connections from a client pod to a server pod on another node, a stream of new connections
 * between them, a denied pod that keeps trying (any success is a policy violation), and churn —
 * pods created and deleted, labels and a policy changed. Every pod operation goes through the
 * lab's own CNI path and shares one in-memory lab state, saved after each change.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Resource } from "../../api/index.js";
import { SerialQueue } from "../../lib/serial.js";
import { withClient } from "../datastore.js";
import { namespaceCreate, podCreate, podDelete, podLabel, probe } from "../pods.js";
import { DIST, LabError, nsPath, sleep } from "../processes.js";
import type { LabNode, LabPaths, LabState } from "../state.js";

const API = "projectcalico.org/v3";
export const CHAOS_NS = "chaos";
export const CHURN_NS = "chaos-churn";
const ECHO_PORT = 7000;
const HOLD_COUNT = 4;
const MAX_CHURN_PODS = 4;

export interface WorkloadEvents {
  broken: number[];
  dialFailed: number[];
  dialOk: number[];
  deniedThrough: number[];
  churnErrors: number;
  duplicateIPs: number;
}

export class Workload {
  readonly events: WorkloadEvents = {
    broken: [],
    dialFailed: [],
    dialOk: [],
    deniedThrough: [],
    churnErrors: 0,
    duplicateIPs: 0,
  };
  /** One lock for everything that changes pods, so checks see a quiet moment. */
  readonly lock = new SerialQueue();
  readonly #agents: ChildProcess[] = [];
  readonly #up = new Set<number>();
  #churning = false;
  #churnLoop: Promise<void> = Promise.resolve();
  #churnSeq = 0;

  constructor(
    private readonly paths: LabPaths,
    private readonly state: LabState,
  ) {}

  /** Every hold connection is open right now. */
  get allConnectionsUp(): boolean {
    return this.#up.size === HOLD_COUNT;
  }

  async setup(progress: (msg: string) => void): Promise<void> {
    const { paths, state } = this;
    if (state.nodes.length < 2) throw new LabError("chaos needs at least 2 nodes (up --nodes 2 or more)");
    for (const ns of [CHAOS_NS, CHURN_NS])
      if (state.namespaces[ns]) throw new LabError(`namespace ${ns} exists: chaos needs a lab without it`);
    const [n1, n2] = state.nodes as [LabNode, LabNode];
    await namespaceCreate(paths, state, CHAOS_NS, {}, {});
    await namespaceCreate(paths, state, CHURN_NS, {}, {});
    progress("creating the workload pods and the policy that allows only the client");
    const quiet = () => undefined;
    await podCreate(
      paths,
      state,
      `${CHAOS_NS}/server`,
      { node: n1.name, labels: { app: "server" }, serve: [{ protocol: "tcp", port: 80 }] },
      quiet,
    );
    await podCreate(
      paths,
      state,
      `${CHAOS_NS}/client`,
      { node: n2.name, labels: { app: "client" }, serve: [] },
      quiet,
    );
    await podCreate(
      paths,
      state,
      `${CHAOS_NS}/denied`,
      { node: n2.name, labels: { app: "denied" }, serve: [] },
      quiet,
    );
    await withClient(paths, (client) =>
      client.create({
        apiVersion: API,
        kind: "NetworkPolicy",
        metadata: { name: "allow-client", namespace: CHAOS_NS },
        spec: {
          selector: "app == 'server'",
          types: ["Ingress"],
          ingress: [{ action: "Allow", protocol: "TCP", source: { selector: "app == 'client'" } }],
        },
      } as unknown as Resource),
    );
    for (let i = 0; !(await this.policyCorrect()); i++) {
      if (i > 100) throw new LabError("the chaos workload's policy never took effect");
      await sleep(200);
    }
    const server = state.pods[`${CHAOS_NS}/server`]?.ip as string;
    this.#agent(`${CHAOS_NS}/server`, ["echo", String(ECHO_PORT)]);
    await sleep(300);
    this.#agent(`${CHAOS_NS}/client`, ["hold", server, String(ECHO_PORT), String(HOLD_COUNT)]);
    this.#agent(`${CHAOS_NS}/client`, ["dial", server, "80", "100", "1000"]);
    this.#agent(`${CHAOS_NS}/denied`, ["dial", server, "80", "250", "500"]);
    for (let i = 0; !this.allConnectionsUp; i++) {
      if (i > 100) throw new LabError("the long-lived connections did not open");
      await sleep(100);
    }
  }

  /** The allowed probe gets through and the denied one does not. */
  async policyCorrect(): Promise<boolean> {
    const server = `${CHAOS_NS}/server`;
    const [allowed, denied] = await Promise.all([
      probe(this.state, `${CHAOS_NS}/client`, server, 80, "tcp", 1_000).catch(() => "error"),
      probe(this.state, `${CHAOS_NS}/denied`, server, 80, "tcp", 500).catch(() => "error"),
    ]);
    if (denied === "open") this.events.deniedThrough.push(Date.now());
    return allowed === "open" && denied !== "open";
  }

  #agent(pod: string, args: string[]): void {
    const p = this.state.pods[pod];
    if (!p) throw new LabError(`no pod ${pod}`);
    const child = spawn(
      "nsenter",
      [`--net=${nsPath(p.netns)}`, process.execPath, DIST("chaos/agent.js"), ...args],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    this.#agents.push(child);
    const denied = pod.endsWith("/denied");
    createInterface({ input: child.stdout }).on("line", (line) => {
      let ev: { t: number; ev: string; ok?: boolean; slot?: number };
      try {
        ev = JSON.parse(line) as typeof ev;
      } catch {
        return;
      }
      if (ev.ev === "up") this.#up.add(ev.slot ?? 0);
      else if (ev.ev === "broken") {
        this.#up.delete(ev.slot ?? 0);
        this.events.broken.push(ev.t);
      } else if (ev.ev === "dial" && denied) {
        if (ev.ok) this.events.deniedThrough.push(ev.t);
      } else if (ev.ev === "dial") (ev.ok ? this.events.dialOk : this.events.dialFailed).push(ev.t);
    });
  }

  startChurn(): void {
    this.#churning = true;
    this.#churnLoop = (async () => {
      while (this.#churning) {
        await this.lock
          .run(() => this.#churnStep())
          .catch(() => {
            this.events.churnErrors++;
          });
        await sleep(600);
      }
    })();
  }

  async stopChurn(): Promise<void> {
    this.#churning = false;
    await this.#churnLoop;
  }

  /** One change in turn: a pod created, the oldest deleted, a label flipped, the policy edited. */
  async #churnStep(): Promise<void> {
    const { paths, state } = this;
    const step = this.#churnSeq++;
    const churnPods = Object.keys(state.pods).filter((r) => r.startsWith(`${CHURN_NS}/`));
    switch (step % 4) {
      case 0:
      case 2: {
        if (churnPods.length >= MAX_CHURN_PODS) {
          await podDelete(paths, state, churnPods[0] as string);
          return;
        }
        const node = state.nodes[step % state.nodes.length]?.name as string;
        const pod = await podCreate(
          paths,
          state,
          `${CHURN_NS}/c${step}`,
          { node, labels: { app: "churn", color: "red" }, serve: [] },
          () => undefined,
        );
        const others = Object.entries(state.pods).filter(([r]) => r !== `${CHURN_NS}/c${step}`);
        if (others.some(([, p]) => (p.ips ?? [p.ip]).some((ip) => (pod.ips ?? [pod.ip]).includes(ip))))
          this.events.duplicateIPs++;
        return;
      }
      case 1: {
        const ref = churnPods[churnPods.length - 1];
        if (!ref) return;
        const color = state.pods[ref]?.labels.color === "red" ? "blue" : "red";
        await podLabel(paths, state, ref, { color });
        return;
      }
      default: {
        const spec = {
          selector: "app == 'churn'",
          order: 100 + (step % 7),
          types: ["Ingress"],
          ingress: [{ action: "Allow", protocol: "TCP", destination: { ports: [8000 + (step % 50)] } }],
        };
        await withClient(paths, async (client, store) => {
          const current = await store
            .get({ kind: "GlobalNetworkPolicy", name: "chaos-churn" })
            .catch(() => undefined);
          const next = { apiVersion: API, kind: "GlobalNetworkPolicy", spec } as unknown as Resource;
          if (current) await client.update({ ...next, metadata: { ...current.metadata } });
          else await client.create({ ...next, metadata: { name: "chaos-churn" } });
        });
      }
    }
  }

  /** Stops the agents and deletes every pod this workload made, retrying while the datastore recovers. */
  async teardown(): Promise<string[]> {
    await this.stopChurn();
    for (const a of this.#agents) a.kill("SIGKILL");
    const errors: string[] = [];
    const mine = Object.keys(this.state.pods).filter(
      (r) => r.startsWith(`${CHAOS_NS}/`) || r.startsWith(`${CHURN_NS}/`),
    );
    for (const ref of mine) {
      for (let attempt = 1; ; attempt++) {
        try {
          await podDelete(this.paths, this.state, ref);
          break;
        } catch (err) {
          if (attempt >= 5) {
            errors.push(`${ref}: ${(err as Error).message}`);
            break;
          }
          await sleep(1_000);
        }
      }
    }
    await withClient(this.paths, async (_client, store) => {
      for (const key of [
        { kind: "NetworkPolicy", name: "allow-client", namespace: CHAOS_NS },
        { kind: "GlobalNetworkPolicy", name: "chaos-churn" },
        { kind: "Profile", name: `kns.${CHAOS_NS}` },
        { kind: "Profile", name: `kns.${CHURN_NS}` },
      ])
        await store.delete(key).catch(() => undefined);
    }).catch((err: Error) => errors.push(err.message));
    delete this.state.namespaces[CHAOS_NS];
    delete this.state.namespaces[CHURN_NS];
    return errors;
  }
}
