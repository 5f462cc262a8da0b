/**
 * `docker run` to "container reachable" with a real dockerd: on a Calico network (calico and
 * calico-ipam drivers, Felix programming the endpoint) beside Docker's own bridge network as the
 * baseline, both measured in this run on the same daemon. Reachable means a prober container on
 * the same network gets its first ping reply (sent every 10 ms from inside the prober's
 * namespace, so `docker exec` start-up is not counted).
 */
import { spawn } from "node:child_process";
import { type DockerHost, dockerMissing, startDockerHost } from "../test/libnetwork/docker-host.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const ITERATIONS = 20;
const POOL = "10.73.0.0/16";

/**
 * Pings every 10 ms from inside `netnsPid`'s namespace and resolves at the first reply (busybox
 * ping, which this host has, counts packets sent rather than replies, so its output is watched).
 */
function firstReply(netnsPid: string, ip: string, timeoutS: number): Promise<boolean> {
  return new Promise((resolve) => {
    const argv = [
      `--net=/proc/${netnsPid}/ns/net`,
      "/bin/busybox",
      "ping",
      "-i",
      "0.01",
      "-w",
      String(timeoutS),
      ip,
    ];
    const child = spawn("nsenter", argv, { stdio: ["ignore", "pipe", "ignore"] });
    let done = false;
    child.stdout.on("data", (d: Buffer) => {
      if (!done && d.toString().includes("bytes from")) {
        done = true;
        child.kill("SIGKILL");
        resolve(true);
      }
    });
    child.once("exit", () => {
      if (!done) resolve(false);
    });
  });
}

interface Sample {
  /** Until `docker run -d` returned (endpoint created, container started). */
  started: number;
  reachable: number;
}

async function sample(h: DockerHost, network: string, prober: string, i: number): Promise<Sample> {
  const pid = await h.d("inspect", "-f", "{{.State.Pid}}", prober);
  const name = `bench-${network}-${i}`;
  const t0 = performance.now();
  await h.d("run", "-d", "--name", name, "--net", network, "busybox", "sleep", "3600");
  const started = performance.now() - t0;
  const ip = await h.d("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name);
  const reached = await firstReply(pid, ip, 20);
  const reachable = performance.now() - t0;
  if (!reached) throw new Error(`${name} (${ip}) not reachable on ${network} within 20 s`);
  await h.d("rm", "-f", name);
  return { started, reachable };
}

async function measure(h: DockerHost, network: string): Promise<Sample[]> {
  await h.d("run", "-d", "--name", `prober-${network}`, "--net", network, "busybox", "sleep", "3600");
  const out: Sample[] = [];
  // Two warm-up rounds (first image use, first block claim) are not counted.
  for (let i = -2; i < ITERATIONS; i++) {
    const s = await sample(h, network, `prober-${network}`, i + 2);
    if (i >= 0) out.push(s);
  }
  return out;
}

const bench: BenchModule = {
  title: "Docker: docker run → container reachable (real dockerd, calico-libnetwork, Felix)",
  async run(): Promise<Figure[]> {
    if (dockerMissing.length > 0) {
      console.log(`  skipped: ${dockerMissing.join(", ")} not installed`);
      return [];
    }
    const h = await startDockerHost({ prefix: "cts-dkb", node: "benchhost", pool: POOL });
    try {
      await h.d(
        "network",
        "create",
        "--driver",
        "calico",
        "--ipam-driver",
        "calico-ipam",
        "--subnet",
        POOL,
        "calinet",
      );
      const bridgeSamples = await measure(h, "bridge");
      const calicoSamples = await measure(h, "calinet");
      const bridge = percentiles(bridgeSamples.map((s) => s.reachable));
      const calico = percentiles(calicoSamples.map((s) => s.reachable));
      const bridgeRun = percentiles(bridgeSamples.map((s) => s.started));
      const calicoRun = percentiles(calicoSamples.map((s) => s.started));
      return [
        {
          name: "docker run --net calinet returns, median",
          value: calicoRun.median,
          unit: "ms",
          baseline: { name: "--net bridge median", value: bridgeRun.median },
        },
        {
          name: "docker run --net calinet → reachable, median",
          value: calico.median,
          unit: "ms",
          baseline: { name: "--net bridge median", value: bridge.median },
        },
        {
          name: "docker run --net calinet → reachable, p99",
          value: calico.p99,
          unit: "ms",
          baseline: { name: "--net bridge p99", value: bridge.p99 },
        },
      ];
    } finally {
      await h.stop();
    }
  },
};

export default bench;
