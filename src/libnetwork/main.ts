/** `calico-libnetwork`: Calico's Docker network and IPAM drivers as one long-running process. */
import { loadClientConfigFromEnv, openDatastore } from "../datastore/index.js";
import { createLogger } from "../lib/log.js";
import { loadConfig } from "./config.js";
import { startPlugin } from "./plugin.js";

const USAGE = `Usage: calico-libnetwork

Serves Docker's remote driver protocol for the network driver "calico" and the IPAM driver
"calico-ipam" on calico.sock and calico-ipam.sock in the plugin directory.

Environment:
  ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE   the datastore (etcd v3)
  NODENAME or HOSTNAME                 Calico node name (default: this host's name)
  DOCKER_HOST                          Docker API socket (default unix:///var/run/docker.sock)
  CALICO_LIBNETWORK_PLUGIN_DIR         plugin socket directory (default /run/docker/plugins)
  CALICO_LIBNETWORK_IFPREFIX           container interface prefix (default cali)
  CALICO_LIBNETWORK_CREATE_PROFILES    a profile per network (default true)
  CALICO_LIBNETWORK_LABEL_ENDPOINTS    copy org.projectcalico.label.* container labels (default false)
  CALICO_LIBNETWORK_LABEL_POLL_TIMEOUT how long to look for the container's labels (default 5s)
  CALICO_LIBNETWORK_VETH_MTU           veth MTU (default: the kernel's)
  CALICO_DEBUG                         any value: debug logging
`;

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  if (argv.includes("-h") || argv.includes("--help")) {
    process.stdout.write(USAGE);
    return;
  }
  if (argv.length > 0) {
    process.stderr.write(`calico-libnetwork: unexpected argument '${argv[0]}'\n\n${USAGE}`);
    process.exit(2);
  }
  let config: ReturnType<typeof loadConfig>;
  let datastore: ReturnType<typeof loadClientConfigFromEnv>;
  try {
    config = loadConfig();
    datastore = loadClientConfigFromEnv();
  } catch (err) {
    process.stderr.write(`calico-libnetwork: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const log = createLogger({ name: "calico-libnetwork", screen: config.debug ? "Debug" : "Info" });
  const store = await openDatastore(datastore);
  let plugin: Awaited<ReturnType<typeof startPlugin>>;
  try {
    plugin = await startPlugin(config, store, log);
  } catch (err) {
    log.fatal({ error: (err as Error).message }, "cannot start");
    await store.close();
    process.exit(1);
  }
  log.info(
    { sockets: plugin.server.sockets, node: config.nodename },
    "serving Docker plugins calico and calico-ipam",
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log.info({}, "shutting down");
    await plugin.close();
    await store.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
