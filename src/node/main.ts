/**
 * `calico-node`: with no flag, start-up then Felix + confd + BIRD until SIGTERM. Calico's flags:
 * `-startup` (start-up only), `-felix-ready`, `-felix-live`, `-bird-ready`, `-bird-live` (health
 * checks, combinable, exit 0 when healthy), `-v` (version).
 */
import { loadClientConfigFromEnv, openDatastore } from "../datastore/index.js";
import { createLogger } from "../lib/log.js";
import { packageVersion } from "../lib/version.js";
import { healthCheck } from "./health.js";
import { runNode } from "./run.js";
import { runStartup } from "./startup.js";
import { reconcileTunnelAddresses } from "./tunnel-addrs.js";

const FLAGS = new Set([
  "-startup",
  "-felix-ready",
  "-felix-live",
  "-bird-ready",
  "-bird-live",
  "-v",
  "-version",
]);

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const env = process.env;
  const unknown = argv.filter((a) => !FLAGS.has(a.replace(/^--/, "-")));
  if (unknown.length > 0) {
    process.stderr.write(`calico-node: unknown flag ${unknown[0]}; known: ${[...FLAGS].join(" ")}\n`);
    process.exit(2);
  }
  const flags = new Set(argv.map((a) => a.replace(/^--/, "-")));
  if (flags.has("-v") || flags.has("-version")) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  const felixCheck = flags.has("-felix-ready") ? "ready" : flags.has("-felix-live") ? "live" : undefined;
  const birdCheck = flags.has("-bird-ready") ? "ready" : flags.has("-bird-live") ? "live" : undefined;
  if (felixCheck || birdCheck) {
    const failures = await healthCheck(env, {
      ...(felixCheck ? { felix: felixCheck } : {}),
      ...(birdCheck ? { bird: birdCheck } : {}),
    });
    for (const f of failures) process.stderr.write(`${f}\n`);
    process.exit(failures.length === 0 ? 0 : 1);
  }
  const log = createLogger({ name: "calico-node", screen: env.CALICO_STARTUP_LOGLEVEL || "Info" });
  let store: Awaited<ReturnType<typeof openDatastore>>;
  let nodeName: string;
  try {
    store = await openDatastore(loadClientConfigFromEnv(env));
    nodeName = (await runStartup(store, env, (msg) => log.info(msg))).nodeName;
    await reconcileTunnelAddresses(store, nodeName, {
      info: (msg) => log.info(msg),
      warn: (msg) => log.warn(msg),
    });
  } catch (err) {
    process.stderr.write(`calico-node: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (flags.has("-startup")) {
    await store.close();
    return;
  }
  const node = await runNode(store, env, nodeName, log);
  const stop = async () => {
    await node.stop();
    await store.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}
