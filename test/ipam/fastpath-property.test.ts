/**
 * The fast path's memory (blocks it wrote, its view of the inventory) under random interleavings:
 * two long-lived clients allocating for the same hosts, releases, pools disabled and enabled,
 * reservations created. Whatever the order, no address is handed out twice, none comes from a
 * disabled pool or a reserved range, and blocks and handles agree at every step.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { MemoryKV } from "../../src/datastore/memory/memory-kv.js";
import { CalicoResourceStore } from "../../src/datastore/resources/store.js";
import { decodeBlock, ordinalsForHandle, validateBlock } from "../../src/ipam/block.js";
import { IPAMClient } from "../../src/ipam/client.js";
import { decodeHandle } from "../../src/ipam/handle.js";
import { MemoryHints } from "../../src/ipam/hints.js";
import { BLOCK_PREFIX, HANDLE_PREFIX } from "../../src/ipam/keys.js";
import { cidrContainsIP, formatCIDR, parseCIDR, parseIP } from "../../src/lib/net.js";
import { addr } from "./support.js";

const res = (kind: string, name: string, spec: Record<string, unknown>): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name },
  spec,
});

const HOSTS = ["node-a", "node-b"] as const;
const POOLS = { p: "10.70.0.0/24", q: "10.72.0.0/24" } as const;

type Op =
  | { op: "alloc"; client: number; host: number }
  | { op: "release"; client: number; pick: number }
  | { op: "toggle"; pool: "p" | "q" }
  | { op: "reserve"; slot: number };

const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ op: fc.constant("alloc" as const), client: fc.nat(1), host: fc.nat(1) }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant("release" as const), client: fc.nat(1), pick: fc.nat() }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant("toggle" as const), pool: fc.constantFrom("p", "q") }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("reserve" as const), slot: fc.nat(63) }) },
  ),
  { minLength: 5, maxLength: 60 },
);

/** Blocks valid; every handle's counts equal the ordinals it holds in each block, and back. */
async function consistent(kv: MemoryKV): Promise<void> {
  const now = new Date();
  const blocks = (await kv.list(BLOCK_PREFIX)).kvs.map((k) => decodeBlock(k.value));
  for (const b of blocks) expect(validateBlock(b, now)).toEqual([]);
  const handles = (await kv.list(HANDLE_PREFIX)).kvs.map((k) => ({
    id: k.key.slice(HANDLE_PREFIX.length),
    handle: decodeHandle(k.value),
  }));
  for (const { id, handle } of handles) {
    for (const b of blocks) {
      expect(ordinalsForHandle(b, id).length).toBe(handle.block[formatCIDR(b.cidr)] ?? 0);
    }
  }
  const known = new Set(handles.map((h) => h.id));
  for (const b of blocks) {
    for (let ord = 0; ord < b.allocations.length; ord++) {
      const idx = b.allocations[ord];
      const rec = idx === null || idx === undefined ? undefined : b.attributes[idx];
      if (rec?.handle_id && rec.releasedAt === undefined) expect(known.has(rec.handle_id)).toBe(true);
    }
  }
}

describe("IPAM fast path memory under random interleavings (MemoryKV)", () => {
  it("never double-allocates, respects pool and reservation changes, keeps blocks and handles in agreement", async () => {
    await fc.assert(
      fc.asyncProperty(ops, async (steps) => {
        const kv = new MemoryKV();
        const store = new CalicoResourceStore(kv);
        for (const [name, cidr] of Object.entries(POOLS)) {
          await store.create(res("IPPool", name, { cidr, blockSize: 29 }));
        }
        for (const h of HOSTS) await store.create(res("Node", h, {}));
        const clients = [0, 1].map(() => ({
          ipam: IPAMClient.fromResourceStore(store, { defaultHostname: HOSTS[0] }),
          hints: new MemoryHints(),
        }));
        const disabled = new Set<string>();
        const reserved: string[] = [];
        const held = new Map<string, string>();
        let n = 0;
        for (const step of steps) {
          if (step.op === "alloc") {
            const { ipam, hints } = clients[step.client]!;
            const handleId = `h${n++}`;
            let ip: string | undefined;
            try {
              const r = await ipam.autoAssign({ handleId, num4: 1, hostname: HOSTS[step.host] }, { hints });
              ip = r.ipv4.ips[0] && addr(r.ipv4.ips[0]);
            } catch {
              // Both pools disabled, or full: nothing handed out, which the checks below confirm.
            }
            if (ip === undefined) continue;
            const at = parseIP(ip)!;
            expect([...held.values()]).not.toContain(ip);
            const pool = Object.entries(POOLS).find(([, c]) => cidrContainsIP(parseCIDR(c)!, at))![0];
            expect(disabled.has(pool)).toBe(false);
            for (const c of reserved) expect(cidrContainsIP(parseCIDR(c)!, at)).toBe(false);
            held.set(handleId, ip);
          } else if (step.op === "release") {
            const ids = [...held.keys()];
            if (ids.length === 0) continue;
            const id = ids[step.pick % ids.length]!;
            const { ipam, hints } = clients[step.client]!;
            const out = await ipam.releaseHandles([id], { hints, hostname: HOSTS[0] });
            // The handle may be another host's; released all the same, through the general path.
            expect(out.get(id)).toEqual([held.get(id)]);
            held.delete(id);
          } else if (step.op === "toggle") {
            const pool = await store.get({ kind: "IPPool", name: step.pool });
            const off = !disabled.has(step.pool);
            await store.update({ ...pool, spec: { ...pool.spec, disabled: off } });
            if (off) disabled.add(step.pool);
            else disabled.delete(step.pool);
          } else {
            // A /30 of pool p, kept for the rest of the run.
            const cidr = `10.70.0.${step.slot * 4}/30`;
            await store.create(res("IPReservation", `r${reserved.length}`, { reservedCIDRs: [cidr] }));
            reserved.push(cidr);
          }
          await consistent(kv);
        }
        for (const [id, ip] of held) expect(await clients[0]!.ipam.ipsByHandle(id)).toEqual([ip]);
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
