/**
 * Flow logs in the lab (`up --flow-logs`), through its command line: a denied probe produces a
 * record naming the policy and rule that denied it, an allowed one names the rule that allowed
 * it, and the packet counts equal the datagrams sent; `--follow` streams new records; the web
 * view (`calico-lab ui`), loaded in a real headless Chromium, shows nodes, pods, coloured flows
 * with their policy and the matrix, and a screenshot of it is saved.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlowLog } from "../../src/felix/flowlogs/index.js";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";
import { LabCli, waitForOutput } from "./cli.js";

let cli: LabCli;
const labOk = (...args: string[]) => cli.ok(...args);

const POLICY = `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: db-ingress
  namespace: prod
spec:
  selector: app == 'db'
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: app == 'web'
  - action: Deny
    protocol: UDP
    destination:
      ports: [5433]
  - action: Allow
    protocol: UDP
    destination:
      ports: [5434]
`;

/** Sends `count` datagrams from one source port (one flow) out of a pod's namespace. */
async function sendUdp(ref: string, ip: string, port: number, sport: number, count: number): Promise<void> {
  const script = `const s=require("dgram").createSocket("udp4");s.bind(${sport},()=>{let n=0;const t=setInterval(()=>{s.send("x".repeat(20),${port},"${ip}");if(++n===${count}){clearInterval(t);setTimeout(()=>process.exit(0),300)}},5)})`;
  const out = await cli.inNetns(cli.podNetns(ref), [process.execPath, "-e", script]);
  if (out.code !== 0) throw new Error(`sending from ${ref} failed: ${out.stderr}`);
}

async function flows(...args: string[]): Promise<FlowLog[]> {
  return (await labOk("flows", "--json", ...args))
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as FlowLog);
}

/** Packets of one flow (source port `sport`) seen by `reporter`, summed over every interval. */
function total(
  records: FlowLog[],
  sport: number,
  reporter: "src" | "dst",
  field: "packets_in" | "packets_out",
) {
  return records
    .filter((r) => r.source_port === sport && r.reporter === reporter)
    .reduce((n, r) => n + r[field], 0);
}

let dbIp: string;

beforeAll(async () => {
  cli = await LabCli.create("ctf");
  await labOk("up", "--nodes", "2", "--flow-logs");
  await labOk("namespace", "create", "prod");
  await labOk("pod", "create", "prod/client", "--node", "node1", "--labels", "app=client");
  await labOk(
    "pod",
    "create",
    "prod/db",
    "--node",
    "node2",
    "--labels",
    "app=db",
    "--serve",
    "udp:5433,udp:5434,tcp:80",
  );
  await labOk("pod", "create", "prod/web", "--node", "node1", "--labels", "app=web", "--serve", "tcp:80");
  await cli.apply(POLICY);
  dbIp = cli.state().pods["prod/db"]?.ip ?? "";
  // The policy is in place once the denied port is closed to the client.
  await eventually(async () => {
    expect(
      (await cli.run("probe", "prod/client", "prod/db", "--port", "5433", "--protocol", "udp")).code,
    ).toBe(1);
  }, 30_000);
}, 240_000);

afterAll(async () => {
  await cli?.down();
}, 120_000);

describe("calico-lab flows", () => {
  it("names the policy and rule that denied a probe, counting every packet sent", async () => {
    await sendUdp("prod/client", dbIp, 5433, 41001, 7);
    await eventually(async () => {
      const denied = (await flows("--denied")).filter((r) => r.source_port === 41001);
      expect(denied.length).toBeGreaterThan(0);
      expect(total(denied, 41001, "dst", "packets_in")).toBe(7);
    }, 20_000);
    const [rec] = (await flows("--denied")).filter((r) => r.source_port === 41001);
    expect(rec).toMatchObject({
      action: "deny",
      reporter: "dst",
      host: "node2",
      source_name: "client",
      source_namespace: "prod",
      source_labels: { app: "client" },
      dest_name: "db",
      dest_labels: { app: "db" },
      dest_port: 5433,
      proto: "udp",
    });
    // Rule 1 (the second rule) of prod/db-ingress, in tier default.
    expect(rec?.policies.all_policies.at(-1)).toBe("0|default|np/prod/db-ingress|deny|1");
    // The sending node let it out (its namespace profile) and counted the same packets.
    const all = await flows();
    expect(total(all, 41001, "src", "packets_out")).toBe(7);
    expect(all.find((r) => r.source_port === 41001 && r.reporter === "src")?.policies.all_policies).toEqual([
      "0|__PROFILE__|__PROFILE__.kns.prod|allow|0",
    ]);
    const table = await labOk("flows", "--denied");
    expect(table).toMatch(
      /node2\s+dst\s+deny\s+prod\/client\s+prod\/db:5433\s+udp\s+\d+\s+\d+\s+np\/prod\/db-ingress rule 1/,
    );
  }, 60_000);

  it("names the rule that allowed a probe; conntrack's counts equal the packets sent and echoed", async () => {
    await sendUdp("prod/client", dbIp, 5434, 41002, 9);
    await eventually(async () => {
      const all = await flows("--allowed", "--pod", "db");
      expect(total(all, 41002, "dst", "packets_in")).toBe(9);
      expect(total(all, 41002, "dst", "packets_out")).toBe(9);
      expect(total(all, 41002, "src", "packets_out")).toBe(9);
    }, 20_000);
    const rec = (await flows("--allowed")).find((r) => r.source_port === 41002 && r.reporter === "dst");
    expect(rec?.policies.all_policies).toEqual(["0|default|np/prod/db-ingress|allow|2"]);
    expect(rec?.bytes_in).toBe(9 * (20 + 28));
    // Another flush later the totals have not grown: nothing is counted twice.
    await new Promise((r) => setTimeout(r, 4_500));
    expect(total(await flows(), 41002, "dst", "packets_in")).toBe(9);
  }, 60_000);

  it("--follow prints records as they are written", async () => {
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, "../../bin/calico-lab"), "flows", "--follow", "--denied"],
      {
        env: cli.env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      await waitForOutput(child, "POLICY", 10_000);
      await sendUdp("prod/client", dbIp, 5433, 41003, 2);
      await waitForOutput(child, "np/prod/db-ingress rule 1", 15_000);
    } finally {
      child.kill("SIGTERM");
    }
  }, 60_000);

  it("refuses flags that exclude each other", async () => {
    const out = await cli.run("flows", "--denied", "--allowed");
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("--denied and --allowed exclude each other");
  });
});

describe("calico-lab ui", () => {
  let ui: ChildProcess | undefined;
  afterAll(() => {
    ui?.kill("SIGTERM");
  });

  it("shows nodes, pods, coloured flows with their policy and the matrix in headless Chromium", async () => {
    const chromium = (await run("sh", ["-c", "command -v chromium"])).stdout.trim();
    if (!chromium) {
      console.warn("skipping: Debian's chromium is not installed (scripts/install-deps.sh installs it)");
      return;
    }
    ui = spawn(
      process.execPath,
      [join(import.meta.dirname, "../../bin/calico-lab"), "ui", "--port", "0", "--probe-port", "80"],
      {
        env: cli.env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    ui.stdout?.on("data", (d) => {
      out += d;
    });
    await waitForOutput(ui, "calico-lab ui: http://", 15_000);
    const url = /http:\/\/\S+/.exec(out)?.[0] ?? "";
    const browse = (...args: string[]) =>
      run(chromium, [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--virtual-time-budget=10000",
        ...args,
        url,
      ]);
    const dom = await browse("--dump-dom");
    expect(dom.code).toBe(0);
    const html = dom.stdout;
    expect(html).toContain('data-node="node1"');
    expect(html).toContain('data-node="node2"');
    expect(html).toMatch(/data-pod="prod\/db".*app=db/s);
    expect(html).toMatch(/<tr class="flow deny" data-action="deny">.*?np\/prod\/db-ingress rule 1/s);
    expect(html).toMatch(/<tr class="flow allow" data-action="allow">/);
    // The matrix over tcp/80: db admits only web; web has no policy; the client serves nothing.
    expect(html).toContain('data-cell="prod/web&gt;prod/db">ok');
    expect(html).toContain('data-cell="prod/client&gt;prod/web">ok');
    expect(html).toContain('data-cell="prod/client&gt;prod/db">--');
    expect(html).toContain('data-cell="prod/db&gt;prod/client">--');
    const dir = join(import.meta.dirname, "../../.artifacts");
    await mkdir(dir, { recursive: true });
    const png = join(dir, "calico-lab-ui.png");
    const shot = await browse("--window-size=1400,900", `--screenshot=${png}`);
    expect(shot.code).toBe(0);
    expect(existsSync(png) && statSync(png).size).toBeGreaterThan(10_000);
  }, 120_000);
});
