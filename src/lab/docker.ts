/**
 * Docker on a Calico host: dockerd and calico-libnetwork inside a node's network namespace, with
 * their own data root, exec root and API socket, so nothing of a host Docker is touched.
 *
 * Docker finds remote drivers only at fixed paths (`/run/docker/plugins/NAME.sock`), so dockerd
 * runs in a private mount namespace whose `/run` is a fresh tmpfs with this instance's plugin
 * directory mounted at `/run/docker/plugins`; the plugin itself stays in the host's mount
 * namespace and listens in that directory. Several instances (one per lab node) coexist this way.
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ExecResult, run, runOk } from "../lib/exec.js";
import { labEtcdEndpoints } from "./datastore.js";
import { type LabPaths, loadState } from "./state.js";

export const DOCKER_CLI = "/usr/bin/docker";
const DOCKERD = "/usr/sbin/dockerd";
const BUSYBOX = "/bin/busybox";
export const BUSYBOX_IMAGE = "busybox:latest";
const PLUGIN_BIN = join(dirname(fileURLToPath(import.meta.url)), "../../bin/calico-libnetwork");

export class DockerError extends Error {}

export interface DockerNodeOptions {
  /** Path of the network namespace both processes run in (e.g. /run/netns/calab-node1). */
  netnsPath: string;
  /** Directory for sockets, data, logs; created, and removed by dockerDown. */
  dir: string;
  nodename: string;
  /** etcd endpoints as seen from inside the namespace (a unix:// socket works from anywhere). */
  etcdEndpoints: string;
  /** Extra settings for the plugin (CALICO_LIBNETWORK_*). */
  pluginEnv?: Record<string, string>;
}

export interface DockerNode {
  netnsPath: string;
  dir: string;
  nodename: string;
  etcdEndpoints: string;
  pluginEnv: Record<string, string>;
  socket: string;
  dockerdPid: number;
  pluginPid: number;
}

export function dockerSocket(dir: string): string {
  return join(dir, "docker.sock");
}

const pluginDir = (dir: string) => join(dir, "plugins");
const STATE = "docker.json";

/** `docker -H unix://<socket> ARGS` with the Debian client that matches the daemon. */
export function dockerCli(socket: string, args: string[], input?: string): Promise<ExecResult> {
  return run(DOCKER_CLI, ["-H", `unix://${socket}`, ...args], input === undefined ? {} : { input });
}

function detached(argv: string[], env: NodeJS.ProcessEnv, logFile: string): number {
  const fd = openSync(logFile, "a");
  const [file, ...args] = argv;
  const child = spawn(file as string, args, { env, detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new DockerError(`could not start ${argv.join(" ")}`);
  return child.pid;
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stopPid(pid: number | undefined, ms: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid as number, "SIGTERM");
  const end = Date.now() + ms;
  while (alive(pid) && Date.now() < end) await sleep(50);
  if (alive(pid)) process.kill(pid as number, "SIGKILL");
  while (alive(pid)) await sleep(50);
}

async function waitFor(what: string, logFile: string, pid: number, ok: () => Promise<boolean>, ms: number) {
  const end = Date.now() + ms;
  for (;;) {
    if (await ok()) return;
    if (!alive(pid) || Date.now() > end) {
      const tail = existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n") : "";
      throw new DockerError(`${what} did not start (see ${logFile}):\n${tail}`);
    }
    await sleep(200);
  }
}

/** Starts (or restarts) calico-libnetwork for this node and waits until Docker could reach it. */
export async function startPlugin(node: DockerNode): Promise<void> {
  await stopPid(node.pluginPid, 5_000);
  const log = join(node.dir, "calico-libnetwork.log");
  const env = {
    PATH: process.env.PATH,
    ETCD_ENDPOINTS: node.etcdEndpoints,
    NODENAME: node.nodename,
    DOCKER_HOST: `unix://${node.socket}`,
    CALICO_LIBNETWORK_PLUGIN_DIR: pluginDir(node.dir),
    ...node.pluginEnv,
  };
  const sock = join(pluginDir(node.dir), "calico.sock");
  rmSync(sock, { force: true });
  node.pluginPid = detached(["nsenter", `--net=${node.netnsPath}`, process.execPath, PLUGIN_BIN], env, log);
  saveDockerNode(node);
  await waitFor("calico-libnetwork", log, node.pluginPid, async () => existsSync(sock), 30_000);
}

/** A docker image from the host's static busybox, so no registry is needed. */
async function importBusybox(node: DockerNode): Promise<void> {
  const rootfs = join(node.dir, "busybox-rootfs");
  rmSync(rootfs, { recursive: true, force: true });
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  await runOk("cp", [BUSYBOX, join(rootfs, "bin", "busybox")]);
  const applets = (await runOk(BUSYBOX, ["--list"])).stdout.split("\n").filter((a) => /^[\w.[-]+$/.test(a));
  for (const a of applets) if (a !== "busybox") symlinkSync("busybox", join(rootfs, "bin", a));
  const tar = join(node.dir, "busybox.tar");
  await runOk("tar", ["-C", rootfs, "-cf", tar, "."]);
  const out = await dockerCli(node.socket, ["import", "--change", 'CMD ["sh"]', tar, BUSYBOX_IMAGE]);
  if (out.code !== 0) throw new DockerError(`docker import failed: ${out.stderr.trim()}`);
  rmSync(rootfs, { recursive: true, force: true });
  rmSync(tar, { force: true });
}

export async function dockerUp(opts: DockerNodeOptions): Promise<DockerNode> {
  for (const [what, path] of [
    ["dockerd", DOCKERD],
    ["the docker client", DOCKER_CLI],
    ["busybox", BUSYBOX],
  ] as const) {
    if (!existsSync(path))
      throw new DockerError(`${what} (${path}) is missing: install docker.io and busybox-static`);
  }
  if (existsSync(join(opts.dir, STATE)))
    throw new DockerError(`Docker is already set up in ${opts.dir}: take it down first`);
  mkdirSync(pluginDir(opts.dir), { recursive: true });
  const node: DockerNode = {
    netnsPath: opts.netnsPath,
    dir: opts.dir,
    nodename: opts.nodename,
    etcdEndpoints: opts.etcdEndpoints,
    pluginEnv: opts.pluginEnv ?? {},
    socket: dockerSocket(opts.dir),
    dockerdPid: 0,
    pluginPid: 0,
  };
  saveDockerNode(node);
  try {
    await startPlugin(node);
    const d = opts.dir;
    const mounts = `mount -t tmpfs -o mode=755 calico-docker-run /run && mkdir -p /run/docker/plugins && mount --bind '${pluginDir(d)}' /run/docker/plugins`;
    const dockerd = [
      DOCKERD,
      "--data-root",
      join(d, "data"),
      "--exec-root",
      join(d, "exec"),
      "--pidfile",
      join(d, "dockerd.pid"),
      "-H",
      `unix://${node.socket}`,
      // The node's netfilter belongs to Felix; dockerd must not add its own chains.
      "--iptables=false",
      "--ip6tables=false",
    ];
    const log = join(d, "dockerd.log");
    node.dockerdPid = detached(
      [
        "nsenter",
        `--net=${opts.netnsPath}`,
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        `${mounts} && exec ${dockerd.map((a) => `'${a}'`).join(" ")}`,
      ],
      { PATH: process.env.PATH },
      log,
    );
    saveDockerNode(node);
    await waitFor(
      "dockerd",
      log,
      node.dockerdPid,
      async () => (await dockerCli(node.socket, ["version", "--format", "{{.Server.Version}}"])).code === 0,
      90_000,
    );
    await importBusybox(node);
    return node;
  } catch (err) {
    await dockerDown(node);
    throw err;
  }
}

function saveDockerNode(node: DockerNode): void {
  writeFileSync(join(node.dir, STATE), `${JSON.stringify(node, null, 2)}\n`);
}

export function loadDockerNode(dir: string): DockerNode | undefined {
  const file = join(dir, STATE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as DockerNode;
}

/**
 * Removes every container and Calico network (while the plugin still runs, so addresses,
 * endpoints and profiles are released), then stops dockerd (its containerd and mounts go with it
 * and its namespace) and the plugin, and deletes the directory.
 */
export async function dockerDown(node: DockerNode): Promise<void> {
  if (alive(node.dockerdPid)) {
    const ids = (await dockerCli(node.socket, ["ps", "-aq"])).stdout.split("\n").filter((s) => s.trim());
    if (ids.length > 0) await dockerCli(node.socket, ["rm", "-f", ...ids]);
    const nets = (await dockerCli(node.socket, ["network", "ls", "-q", "--filter", "driver=calico"])).stdout
      .split("\n")
      .filter((s) => s.trim());
    if (nets.length > 0) await dockerCli(node.socket, ["network", "rm", ...nets]);
  }
  await stopPid(node.dockerdPid, 20_000);
  await stopPid(node.pluginPid, 5_000);
  rmSync(node.dir, { recursive: true, force: true });
}

/** Where a lab node keeps its Docker. */
export function labDockerDir(paths: LabPaths, node: string): string {
  return join(paths.dir, node, "docker");
}

/** `calico-lab docker up`: Docker with the calico drivers on one lab node (default: the first). */
export async function labDockerUp(paths: LabPaths, nodeName?: string): Promise<DockerNode> {
  const state = loadState(paths);
  if (!state?.etcd) throw new DockerError("no lab is running: start one with `calico-lab up`");
  const node = nodeName ? state.nodes.find((n) => n.name === nodeName) : state.nodes[0];
  if (!node)
    throw new DockerError(`no node ${nodeName} (nodes: ${state.nodes.map((n) => n.name).join(", ")})`);
  const dir = labDockerDir(paths, node.name);
  const running = loadDockerNode(dir);
  if (running && alive(running.dockerdPid))
    throw new DockerError(`Docker is already running on ${node.name}: docker -H unix://${running.socket}`);
  if (running) await dockerDown(running);
  return dockerUp({
    netnsPath: `/run/netns/${node.netns}`,
    dir,
    nodename: node.name,
    etcdEndpoints: labEtcdEndpoints(paths).join(","),
    pluginEnv: { CALICO_LIBNETWORK_LABEL_ENDPOINTS: "true" },
  });
}

/** Takes down the Docker of every lab node that has one. */
export async function labDockerDown(paths: LabPaths, progress: (msg: string) => void): Promise<void> {
  for (const node of loadState(paths)?.nodes ?? []) {
    const docker = loadDockerNode(labDockerDir(paths, node.name));
    if (!docker) continue;
    progress(`stopping Docker on ${node.name}`);
    await dockerDown(docker);
  }
}
