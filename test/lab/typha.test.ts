/**
 * `calico-lab up --typha 2`: every node's Felix and confd take their data from the lab's Typhas
 * (status names them), the BGP mesh and pod connectivity are as without Typha, a Kubernetes
 * NetworkPolicy is enforced; when a Typha is killed its nodes move to the other one, keep every
 * route meanwhile, and enforce a policy change made during the switch.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";
import { LabCli } from "./cli.js";

const ROOT = join(import.meta.dirname, "../..");
let cli: LabCli;
let PREFIX: string;
let dir: string;
const labOk = (...args: string[]) => cli.ok(...args);
const calicoctl = (...args: string[]) => cli.calicoctl(...args);
const matrix = () => cli.matrix();

/** node → the Typhas its status line names. */
async function typhaOf(): Promise<Record<string, string>> {
  const status = await labOk("status");
  const out: Record<string, string> = {};
  // Columns: NODE ADDRESS SUBNET TUNNEL MTU TYPHA STATUS.
  for (const m of status.matchAll(/^(node\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)\s/gm))
    out[m[1] as string] = m[2] as string;
  return out;
}

beforeAll(async () => {
  cli = await LabCli.create("cty");
  ({ prefix: PREFIX, dir } = cli);
  await labOk("up", "--nodes", "2", "--typha", "2");
  await labOk("namespace", "create", "dev", "--labels", "env=dev");
  await labOk("namespace", "create", "prod", "--labels", "env=prod");
  await labOk("pod", "create", "dev/web", "--node", "node1", "--labels", "app=web", "--serve", "tcp:80");
  await labOk(
    "pod",
    "create",
    "dev/client",
    "--node",
    "node2",
    "--labels",
    "app=client",
    "--serve",
    "tcp:80",
  );
  await labOk(
    "pod",
    "create",
    "prod/client",
    "--node",
    "node2",
    "--labels",
    "app=client",
    "--serve",
    "tcp:80",
  );
}, 180_000);

afterAll(async () => {
  await cli?.down();
});

describe("calico-lab with Typha", () => {
  it("points each node at a Typha and connects every pod as without Typha", async () => {
    expect(await typhaOf()).toEqual({ node1: "typha1", node2: "typha2" });
    const status = await labOk("status");
    expect(status).toMatch(/^typha1: 172\.30\.0\.201:5473 \(pid \d+, running\)$/m);
    expect(status.match(/ ready$/gm)).toHaveLength(2);
    const m = await matrix();
    expect(Object.values(m)).toHaveLength(6);
    expect(Object.entries(m).filter(([, ok]) => !ok)).toEqual([]);
  }, 60_000);

  it("enforces a Kubernetes NetworkPolicy through Typha", async () => {
    await calicoctl("apply", "-f", join(ROOT, "examples/lab/web-policy.yaml"));
    await eventually(async () => expect((await matrix())["prod/client>dev/web"]).toBe(false), 15_000, 300);
    expect((await matrix())["dev/client>dev/web"]).toBe(true);
  }, 60_000);

  it("moves a node to the other Typha when its Typha dies, keeping routes and taking new policy", async () => {
    const routes = (await run("ip", ["-n", `${PREFIX}-node1`, "route", "show"])).stdout;
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as {
      typhas: Array<{ pid: number }>;
    };
    process.kill(state.typhas[0]?.pid as number, "SIGKILL");
    // During the switch: admit prod too by relabelling its namespace.
    await labOk("namespace", "label", "prod", "env=dev");
    await eventually(async () => expect((await typhaOf()).node1).toBe("typha2"), 60_000, 500);
    await eventually(async () => expect((await matrix())["prod/client>dev/web"]).toBe(true), 20_000, 300);
    const after = (await run("ip", ["-n", `${PREFIX}-node1`, "route", "show"])).stdout;
    for (const line of routes.split("\n").filter((l) => l.trim())) expect(after).toContain(line);
    expect((await labOk("status")).match(/ ready$/gm)).toHaveLength(2);
  }, 120_000);
});
