/**
 * The Linux dataplane of the calico plugin: a veth pair between the container's namespace and
 * this process's namespace (the "host"), with Calico's MAC, sysctls and routes. Commands are
 * built by ipcmd.ts; this module only runs them, in order, and undoes its own work on failure.
 *
 * Every process a plugin starts costs it a fork of the whole Node process (about 10 ms of this
 * process's own CPU) before the command does anything, so an IPv4 workload takes two: one shell
 * in the container's namespace that runs a single `ip -batch` (create, link-up, routes,
 * addresses) and a single `ip -batch` on the host (link-up, routes). Sysctls of the host side are
 * file writes from this process, which is in the host namespace. In the plugins, commands go
 * through the run's command shell (shell.ts), so not even those fork Node.
 */
import { readFile, stat, writeFile } from "node:fs/promises";
import { ExecError, type ExecOptions } from "../lib/exec.js";
import { CniError, ErrorCode } from "./errors.js";
import {
  batchSafeName,
  containerConfigScript,
  containerCreateScript,
  containerSetupScript,
  EXPECTED_HOST_LINK_LOCAL,
  families,
  HOST_MAC,
  hostLinkBatch,
  hostRouteArgs,
  hostRouteDestination,
  hostRouteShowArgs,
  hostSetupBatch,
  hostSysctls,
  nsenterArgs,
  parseBatchFailures,
  parseLinkJson,
  parseLinkLocal,
  parseProcNetDev,
  parseRouteDevs,
  type VethPlan,
} from "./ipcmd.js";
import { log } from "./log.js";
import { runCommand as run } from "./shell.js";

const IP = "ip";
const NSENTER = "nsenter";
const COMMAND_TIMEOUT_MS = 20_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runOk(file: string, args: string[], opts: ExecOptions) {
  const result = await run(file, args, opts);
  if (result.code !== 0) throw new ExecError([file, ...args].join(" "), result);
  return result;
}

async function inNetns(netns: string, argv: string[], input?: string) {
  return runOk(NSENTER, nsenterArgs(netns, argv), { input, timeoutMs: COMMAND_TIMEOUT_MS });
}

async function hostIp(args: string[], input?: string) {
  return runOk(IP, args, { input, timeoutMs: COMMAND_TIMEOUT_MS });
}

/** Whether this namespace has a link called `name`; /proc/self/net is always our own namespace. */
export async function hostHasLink(name: string): Promise<boolean> {
  return parseProcNetDev(await readFile("/proc/self/net/dev", "utf8")).includes(name);
}

async function writeSysctl(path: string, value: string, optional: boolean): Promise<void> {
  try {
    await writeFile(path, value);
  } catch (err) {
    if (!optional) throw new Error(`failed to set sysctl ${path}=${value}: ${(err as Error).message}`);
    log.warning("failed to set optional sysctl", { path, value, error: (err as Error).message });
  }
}

/** All at once (they are independent files); the first failure in list order is the one reported. */
async function writeHostSysctls(hostIfname: string, fam: { v4: boolean; v6: boolean }): Promise<void> {
  const results = await Promise.allSettled(
    hostSysctls(hostIfname, fam).map((s) => writeSysctl(s.path, s.value, s.optional)),
  );
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Sets the fixed MAC until it sticks: udev may still be assigning its own to the new link. */
async function ensureHostMac(hostIfname: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const link = parseLinkJson((await hostIp(["-j", "link", "show", "dev", hostIfname])).stdout);
    if (link?.mac === HOST_MAC) return;
    if (Date.now() > deadline) {
      log.warning("host-side MAC did not stick; keeping the kernel's", { iface: hostIfname, mac: link?.mac });
      return;
    }
    await sleep(100);
    await hostIp(["link", "set", "dev", hostIfname, "address", HOST_MAC]);
  }
}

async function readHostLinkLocal(hostIfname: string): Promise<string | undefined> {
  for (let i = 0; i < 10; i++) {
    const ll = parseLinkLocal(await readFile("/proc/self/net/if_inet6", "utf8"), hostIfname);
    if (ll) return ll;
    await sleep(50);
  }
  return undefined;
}

/** The host side's link-local address, regenerated if the kernel derived it from an older MAC. */
async function hostLinkLocal(hostIfname: string): Promise<string> {
  let ll = await readHostLinkLocal(hostIfname);
  if (ll !== undefined && ll !== EXPECTED_HOST_LINK_LOCAL) {
    log.info("host link-local address not derived from the Calico MAC; cycling the link", { ll });
    await hostIp(["-batch", "-"], `link set dev "${hostIfname}" down\n${hostLinkBatch(hostIfname)}`);
    ll = (await readHostLinkLocal(hostIfname)) ?? ll;
  }
  if (!ll) throw new Error(`failed to find an IPv6 link-local address on host interface ${hostIfname}`);
  return ll;
}

/** Felix may already have programmed the same route; only a route via another device is a clash. */
async function assertNoRouteClash(address: string, hostIfname: string): Promise<void> {
  const devs = parseRouteDevs((await hostIp(hostRouteShowArgs(address))).stdout);
  const other = devs.find((d) => d !== hostIfname);
  if (other !== undefined) {
    throw new Error(
      `route (${address}) already exists for an interface other than '${hostIfname}': ${address} dev ${other}`,
    );
  }
}

async function addHostRoute(address: string, hostIfname: string): Promise<void> {
  const res = await run(IP, hostRouteArgs(address, hostIfname), { timeoutMs: COMMAND_TIMEOUT_MS });
  if (res.code === 0) return;
  if (!/File exists/.test(res.stderr))
    throw new ExecError(`ip ${hostRouteArgs(address, hostIfname).join(" ")}`, res);
  await assertNoRouteClash(address, hostIfname);
}

/**
 * The host side after the container side created it: sysctls (before link-up, so IPv6 settings
 * apply when the link-local address is made), then link-up and the workload routes in one batch.
 * A route that exists already is only an error if it uses another device.
 */
async function configureHostSide(plan: VethPlan, fam: { v4: boolean; v6: boolean }): Promise<void> {
  await writeHostSysctls(plan.hostIfname, fam);
  const batch = hostSetupBatch(plan.hostIfname, plan.addresses);
  const res = await run(IP, ["-j", "-force", "-batch", "-"], { input: batch, timeoutMs: COMMAND_TIMEOUT_MS });
  if (res.code !== 0) {
    const lines = batch.split("\n");
    const failures = parseBatchFailures(res.stderr);
    if (failures.length === 0) throw new ExecError("ip -batch (host side)", res);
    for (const f of failures) {
      const line = lines[f.line - 1] ?? "";
      const route = hostRouteDestination(line);
      if (route !== undefined && /File exists/.test(f.message))
        await assertNoRouteClash(route, plan.hostIfname);
      else throw new ExecError(`ip ${line}`, { code: res.code, stdout: "", stderr: f.message });
    }
  }
  // Set at creation, so it should be there; anything that changed it since gets it set again.
  if (parseLinkJson(res.stdout)?.mac !== HOST_MAC) await ensureHostMac(plan.hostIfname);
}

/** The pair could not be created: nothing of it exists to undo. */
class VethCreateError extends Error {}

/**
 * Runs a container-side script. A failure before the pair exists (the host side is not in this
 * namespace) is the pair's creation failing, which leaves nothing to undo.
 */
async function runContainerScript(plan: VethPlan, script: string, creates: boolean) {
  try {
    return await inNetns(plan.netns, ["sh", "-s"], script);
  } catch (err) {
    if (creates && !(await hostHasLink(plan.hostIfname))) {
      throw new VethCreateError(
        `failed to create veth pair ${plan.ifname} (container ${plan.netns}) / ${plan.hostIfname} (host): ${(err as Error).message}`,
      );
    }
    throw err;
  }
}

/** Refuses to plumb "the container" when CNI_NETNS is in fact this (the host's) namespace. */
async function assertForeignNetns(netns: string): Promise<void> {
  let target: { dev: number; ino: number };
  try {
    target = await stat(netns);
  } catch (err) {
    throw new CniError(
      ErrorCode.invalidEnvironment,
      `CNI_NETNS ${netns} cannot be opened`,
      (err as Error).message,
    );
  }
  const own = await stat("/proc/self/ns/net");
  if (target.dev === own.dev && target.ino === own.ino) {
    throw new CniError(
      ErrorCode.invalidEnvironment,
      `CNI_NETNS ${netns} is the host's own network namespace`,
    );
  }
}

export interface PlumbedInterface {
  /** Kernel-assigned MAC of the container side. */
  mac: string;
  mtu: number;
}

/**
 * Creates and configures the pair. A stale host-side link of the same name (left by an earlier
 * attempt) is removed first. On failure everything created here is removed again.
 */
export async function setupWorkloadInterface(plan: VethPlan): Promise<PlumbedInterface> {
  for (const name of [plan.ifname, plan.hostIfname]) {
    if (!batchSafeName(name)) {
      throw new CniError(ErrorCode.invalidEnvironment, `interface name ${name} contains " or \\`);
    }
  }
  await assertForeignNetns(plan.netns);
  if (await hostHasLink(plan.hostIfname)) {
    log.info("deleting stale host-side interface", { iface: plan.hostIfname });
    await run(IP, ["link", "del", plan.hostIfname]);
  }
  const fam = families(plan.addresses);
  const oneStep = containerSetupScript(plan, process.pid);
  try {
    let out = await runContainerScript(plan, oneStep ?? containerCreateScript(plan, process.pid), true);
    await configureHostSide(plan, fam);
    if (!oneStep) {
      const ll = await hostLinkLocal(plan.hostIfname);
      out = await runContainerScript(plan, containerConfigScript(plan, ll), false);
    }
    const link = parseLinkJson(out.stdout);
    if (!link) throw new Error(`could not read back container interface ${plan.ifname}: ${out.stdout}`);
    return { mac: link.mac, mtu: link.mtu };
  } catch (err) {
    if (err instanceof VethCreateError) throw err;
    await removeWorkloadInterface(plan.netns, plan.ifname).catch((e: Error) =>
      log.warning("cleanup after failed setup also failed", { error: e.message }),
    );
    throw err;
  }
}

export interface HostVethPlan {
  hostIfname: string;
  /** The end a container runtime moves into the sandbox itself (Docker's model). */
  peerIfname: string;
  /** Kernel default when undefined. */
  mtu?: number;
  /** MAC for the peer; the kernel picks one when undefined. */
  peerMac?: string;
  /** Workload addresses (/32, /128) routed to the host end. */
  addresses: string[];
}

/**
 * Both ends in this namespace, the host end configured exactly as setupWorkloadInterface does it
 * (MAC, sysctls, host routes). Returns the host end's IPv6 link-local address when the workload
 * has IPv6. On failure the pair is removed again.
 */
export async function setupHostVethPair(plan: HostVethPlan): Promise<{ hostLinkLocal?: string }> {
  for (const name of [plan.hostIfname, plan.peerIfname]) {
    if (!batchSafeName(name)) throw new Error(`interface name ${name} contains " or \\`);
  }
  for (const name of [plan.hostIfname, plan.peerIfname]) {
    if (await hostHasLink(name)) {
      log.info("deleting stale interface", { iface: name });
      await run(IP, ["link", "del", name]);
    }
  }
  const mtu = plan.mtu === undefined ? [] : ["mtu", String(plan.mtu)];
  const mac = plan.peerMac === undefined ? [] : ["address", plan.peerMac];
  await hostIp([
    "link",
    "add",
    plan.hostIfname,
    ...mtu,
    "type",
    "veth",
    "peer",
    "name",
    plan.peerIfname,
    ...mtu,
    ...mac,
  ]);
  try {
    const fam = families(plan.addresses);
    for (const s of hostSysctls(plan.hostIfname, fam)) await writeSysctl(s.path, s.value, s.optional);
    await hostIp(["-batch", "-"], hostLinkBatch(plan.hostIfname));
    await ensureHostMac(plan.hostIfname);
    await hostIp(["link", "set", "dev", plan.peerIfname, "up"]);
    const hostLinkLocalAddr = fam.v6 ? await hostLinkLocal(plan.hostIfname) : undefined;
    for (const address of plan.addresses) await addHostRoute(address, plan.hostIfname);
    return hostLinkLocalAddr === undefined ? {} : { hostLinkLocal: hostLinkLocalAddr };
  } catch (err) {
    await removeHostLink(plan.hostIfname);
    throw err;
  }
}

/** Deletes a link of this namespace (a veth takes its peer with it); a missing link is not an error. */
export async function removeHostLink(name: string): Promise<void> {
  if (!(await hostHasLink(name))) return;
  const res = await run(IP, ["link", "del", "dev", name], { timeoutMs: COMMAND_TIMEOUT_MS });
  if (res.code !== 0 && !/Cannot find device|does not exist/.test(res.stderr))
    throw new ExecError(`ip link del dev ${name}`, res);
}

/**
 * Deletes the container side, which takes the host side with it. A missing namespace or link
 * means there is nothing to do.
 */
export async function removeWorkloadInterface(netns: string, ifname: string): Promise<void> {
  if (netns === "") return;
  const res = await run(NSENTER, nsenterArgs(netns, [IP, "link", "del", "dev", ifname]), {
    timeoutMs: COMMAND_TIMEOUT_MS,
  });
  if (res.code === 0) return;
  if (/No such file or directory|Cannot find device|Invalid argument|does not exist/.test(res.stderr)) {
    log.info("container interface already gone", { netns, ifname, detail: res.stderr.trim() });
    return;
  }
  if (res.stderr.includes("timed out") || res.code === 128)
    throw new Error("timed out deleting device in netns");
  throw new ExecError(`nsenter --net=${netns} ip link del dev ${ifname}`, res);
}
