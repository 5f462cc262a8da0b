/**
 * Driving a lab through its command line as a user does, for the lab tests: each test file gets
 * its own lab directory and namespace prefix, so files run in parallel without sharing names.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LabState } from "../../src/lab/state.js";
import { type ExecResult, run } from "../../src/lib/exec.js";

const ROOT = join(import.meta.dirname, "../..");

export class LabCli {
  readonly env: NodeJS.ProcessEnv;
  private readonly children: ChildProcess[] = [];
  /** The lab's etcd endpoints, read once per lab: `up` and `down` change them. */
  private endpoints: string | undefined;

  private constructor(
    readonly dir: string,
    readonly prefix: string,
  ) {
    this.env = { ...process.env, CALICO_LAB_DIR: dir, CALICO_LAB_PREFIX: prefix };
  }

  /** `tag` keeps prefixes of different test files apart; the pid keeps parallel runs apart. */
  static async create(tag: string): Promise<LabCli> {
    const dir = join(await mkdtemp(join(tmpdir(), `cts-lab-${tag}-`)), "lab");
    return new LabCli(dir, `${tag}${process.pid % 10000}`);
  }

  run(...args: string[]): Promise<ExecResult> {
    if (args[0] === "up" || args[0] === "down") this.endpoints = undefined;
    return run(process.execPath, [join(ROOT, "bin/calico-lab"), ...args], { env: this.env });
  }

  async ok(...args: string[]): Promise<string> {
    const out = await this.run(...args);
    if (out.code !== 0) throw new Error(`calico-lab ${args.join(" ")} failed (${out.code}): ${out.stderr}`);
    return out.stdout;
  }

  /** calicoctl against the lab's etcd, as `eval $(calico-lab env)` sets it up. */
  async calicoctlRun(...args: string[]): Promise<ExecResult> {
    this.endpoints ??= /ETCD_ENDPOINTS=(\S+)/.exec(await this.ok("env"))?.[1];
    const endpoint = this.endpoints ?? "";
    return run(process.execPath, [join(ROOT, "bin/calicoctl"), ...args], {
      env: { ...this.env, DATASTORE_TYPE: "etcdv3", ETCD_ENDPOINTS: endpoint },
    });
  }

  async calicoctl(...args: string[]): Promise<string> {
    const out = await this.calicoctlRun(...args);
    if (out.code !== 0) throw new Error(`calicoctl ${args.join(" ")} failed: ${out.stderr}`);
    return out.stdout;
  }

  /** `calicoctl <verb> -f` on a temporary file holding `yaml`. */
  async applyRun(yaml: string, verb = "apply"): Promise<ExecResult> {
    const file = join(tmpdir(), `cts-lab-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, yaml);
    try {
      return await this.calicoctlRun(verb, "-f", file);
    } finally {
      await rm(file);
    }
  }

  async apply(yaml: string, verb = "apply"): Promise<void> {
    const out = await this.applyRun(yaml, verb);
    if (out.code !== 0) throw new Error(`calicoctl ${verb} failed: ${out.stderr}`);
  }

  /** `from>to` → reachable, over the given family (each target's first address by default). */
  async matrix(port = 80, family?: "4" | "6"): Promise<Record<string, boolean>> {
    const byFamily = family ? ["--family", family] : [];
    const cells = JSON.parse(
      await this.ok("matrix", "--port", String(port), ...byFamily, "--json"),
    ) as Array<{
      from: string;
      to: string;
      reachable: boolean;
    }>;
    return Object.fromEntries(cells.map((c) => [`${c.from}>${c.to}`, c.reachable]));
  }

  state(): LabState {
    return JSON.parse(readFileSync(join(this.dir, "state.json"), "utf8")) as LabState;
  }

  /** Runs argv inside a lab namespace (a node, a pod's, or the fabric). */
  inNetns(netns: string, argv: string[], input?: string): Promise<ExecResult> {
    return run("nsenter", [`--net=/run/netns/${netns}`, ...argv], input === undefined ? {} : { input });
  }

  podNetns(ref: string): string {
    const pod = this.state().pods[ref];
    if (!pod) throw new Error(`no pod ${ref}`);
    return pod.netns;
  }

  nodeNetns(name: string): string {
    const node = this.state().nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name}`);
    return node.netns;
  }

  /** A long-running process in a lab namespace, stopped by `down()`. */
  spawnIn(netns: string, argv: string[]): ChildProcess {
    const child = spawn("nsenter", [`--net=/run/netns/${netns}`, ...argv], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.children.push(child);
    return child;
  }

  async down(): Promise<void> {
    for (const c of this.children) c.kill("SIGKILL");
    await this.run("down");
    await rm(join(this.dir, ".."), { recursive: true, force: true });
  }
}

/** Resolves once the child prints `text` on stdout or stderr. */
export function waitForOutput(child: ChildProcess, text: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${ms} ms`)), ms);
    const check = (d: Buffer) => {
      if (d.toString().includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before printing "${text}"`));
    });
  });
}
