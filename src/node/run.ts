/**
 * calico-node's long-running part: Felix in this process, the confd role in this process, and
 * BIRD as a child, each restarted when it stops on its own (Felix exits to pick up new config).
 * SIGTERM stops everything; BIRD's `persist` leaves the routes so traffic keeps flowing.
 */
import { mkdirSync } from "node:fs";
import { type BirdProcess, type ConfdHandle, startBird, startConfd } from "../bgp/index.js";
import { type CniAgentThread, startCniAgentThread } from "../cni/index.js";
import type { ResourceStore } from "../datastore/index.js";
import { type FelixHandle, startFelix } from "../felix/index.js";
import type { Logger } from "../lib/log.js";
import { typhaClientSettings, typhaParamsFromEnv } from "../typha/index.js";
import { nodePaths } from "./paths.js";
import { watchTunnelAddresses } from "./tunnel-addrs.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface RunningNode {
  stop(): Promise<void>;
}

const RESTART_DELAY_MS = 1_000;

export async function runNode(
  store: ResourceStore,
  env: Env,
  nodeName: string,
  log: Logger,
): Promise<RunningNode> {
  const paths = nodePaths(env);
  // Calico's confd takes Typha's address from CONFD_/FELIX_/CALICO_ TYPHA* variables.
  const typha = typhaClientSettings(typhaParamsFromEnv(env));
  const backend = (env.CALICO_NETWORKING_BACKEND ?? "bird").toLowerCase();
  let stopping = false;
  let felix: FelixHandle | undefined;
  let bird: BirdProcess | undefined;
  let confd: ConfdHandle | undefined;

  const felixEnv = { ...env, FELIX_FELIXHOSTNAME: env.FELIX_FELIXHOSTNAME || nodeName } as NodeJS.ProcessEnv;
  const runFelix = async (): Promise<void> => {
    felix = await startFelix({ env: felixEnv, logger: log.child({ component: "felix" }) });
    void felix.exited.then((exit) => {
      if (stopping) return;
      log.warn({ ...exit }, "Felix stopped; restarting it");
      setTimeout(
        () => void runFelix().catch((err: Error) => log.error({ err: err.message }, "Felix restart failed")),
        RESTART_DELAY_MS,
      );
    });
  };

  const runBird = async (): Promise<void> => {
    bird = await startBird({ configFile: paths.birdConfig, socketPath: paths.birdSocket, recovery: true });
    log.info({ pid: bird.pid }, "BIRD started");
    void bird.exited.then((code) => {
      if (stopping) return;
      log.warn({ code }, "BIRD exited; restarting it");
      setTimeout(
        () => void runBird().catch((err: Error) => log.error({ err: err.message }, "BIRD restart failed")),
        RESTART_DELAY_MS,
      );
    });
  };

  const tunnels = watchTunnelAddresses(store, nodeName, {
    info: (msg) => log.info(msg),
    warn: (msg) => log.warn(msg),
  });
  // The CNI agent serves the calico plugin's ADD, DEL and CHECK on this host (bin/calico), on a
  // thread of its own so that Felix's work does not hold up a pod's network set-up. While it is
  // down, the plugin runs as its own process.
  let cniAgent: CniAgentThread | undefined;
  const agentLog = log.child({ component: "cni-agent" });
  const runCniAgent = async (): Promise<void> => {
    cniAgent = await startCniAgentThread({
      log: { info: (m) => agentLog.info(m), warn: (m) => agentLog.warn(m) },
    });
    void cniAgent.exited.then((code) => {
      if (stopping) return;
      agentLog.warn({ code }, "CNI agent stopped; restarting it");
      setTimeout(
        () =>
          void runCniAgent().catch((err: Error) =>
            agentLog.error({ err: err.message }, "CNI agent restart failed"),
          ),
        RESTART_DELAY_MS,
      );
    });
  };

  await runFelix();
  if ((env.CALICO_CNI_AGENT ?? "on") !== "off") await runCniAgent();
  if (backend === "bird") {
    mkdirSync(paths.runDir, { recursive: true });
    mkdirSync(paths.confdDir, { recursive: true });
    confd = startConfd({
      nodeName,
      ...(typha
        ? { typha: { ...typha, logger: log.child({ component: "confd-typha-client" }) } }
        : { kv: store.kv }),
      configFile: paths.birdConfig,
      birdSocket: paths.birdSocket,
      ...(env.CALICO_ROUTER_ID ? { routerId: env.CALICO_ROUTER_ID } : {}),
      log: log.child({ component: "confd" }),
    });
    await confd.firstRender;
    await runBird();
  }
  return {
    stop: async () => {
      stopping = true;
      await cniAgent?.stop();
      await tunnels.stop();
      await confd?.stop();
      await bird?.stop();
      await felix?.stop();
    },
  };
}
