/** Syncer recovery rules, driven through MemoryKV's test hooks. */
import { describe, expect, it } from "vitest";
import { DatastoreError } from "../../src/datastore/errors.js";
import type { KVStore } from "../../src/datastore/kv.js";
import { MemoryKV } from "../../src/datastore/memory/memory-kv.js";
import { jsonPrefixSource } from "../../src/datastore/syncer/sources.js";
import { Syncer } from "../../src/datastore/syncer/syncer.js";
import { eventually } from "../support/datastore.js";
import { recordSyncer } from "../support/syncer-recorder.js";

/** MemoryKV that counts lists, to tell a full re-list from a re-watch. */
function countingKV(): { kv: MemoryKV; lists: () => number } {
  const kv = new MemoryKV();
  let lists = 0;
  const list = kv.list.bind(kv);
  kv.list = (...args: Parameters<KVStore["list"]>) => {
    lists++;
    return list(...args);
  };
  return { kv, lists: () => lists };
}

const FAST = { minResyncIntervalMs: 0, listRetryMs: 10, watchRetryMs: 5 };

describe("Syncer recovery", () => {
  it("re-watches after an error, and re-lists after 5 errors without progress", async () => {
    const { kv, lists } = countingKV();
    await kv.put("/t/a", "1");
    const rec = recordSyncer();
    const syncer = new Syncer(kv, [jsonPrefixSource("t", "/t/")], rec, FAST);
    syncer.start();
    await eventually(() => expect(rec.statuses).toContain("InSync"));
    expect(lists()).toBe(1);
    for (let i = 1; i <= 4; i++) {
      kv.dropWatches(new DatastoreError(`drop ${i}`));
      await eventually(() => expect(rec.errors).toHaveLength(i));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(lists()).toBe(1);
    kv.dropWatches(new DatastoreError("drop 5"));
    await eventually(() => expect(lists()).toBe(2));
    await kv.put("/t/b", "2");
    await eventually(() => expect(rec.updates.map((u) => u.key)).toEqual(["/t/a", "/t/b"]));
    await syncer.stop();
  });

  it("an event between errors counts as progress", async () => {
    const { kv, lists } = countingKV();
    const rec = recordSyncer();
    const syncer = new Syncer(kv, [jsonPrefixSource("t", "/t/")], rec, FAST);
    syncer.start();
    await eventually(() => expect(rec.statuses).toContain("InSync"));
    for (let i = 1; i <= 8; i++) {
      kv.dropWatches();
      await eventually(() => expect(rec.errors).toHaveLength(i));
      await new Promise((r) => setTimeout(r, 20));
      if (i === 4) {
        await kv.put("/t/x", `${i}`);
        await eventually(() => expect(rec.updates).toHaveLength(1));
      }
    }
    expect(lists()).toBe(1);
    await syncer.stop();
  });

  it("throttles full re-lists", async () => {
    const { kv, lists } = countingKV();
    const rec = recordSyncer();
    const syncer = new Syncer(kv, [jsonPrefixSource("t", "/t/")], rec, {
      ...FAST,
      minResyncIntervalMs: 300,
      maxErrorsWithoutProgress: 1,
    });
    syncer.start();
    await eventually(() => expect(lists()).toBe(1));
    const started = Date.now();
    kv.dropWatches();
    await eventually(() => expect(lists()).toBe(2));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await syncer.stop();
  });

  it("keeps retrying a failing list and stays in WaitForDatastore meanwhile", async () => {
    const kv = new MemoryKV();
    let failures = 3;
    const list = kv.list.bind(kv);
    kv.list = (...args: Parameters<KVStore["list"]>) =>
      failures-- > 0 ? Promise.reject(new DatastoreError("down")) : list(...args);
    const rec = recordSyncer();
    const syncer = new Syncer(kv, [jsonPrefixSource("t", "/t/")], rec, FAST);
    syncer.start();
    await eventually(() => expect(rec.statuses).toEqual(["WaitForDatastore", "ResyncInProgress", "InSync"]));
    expect(rec.errors.map((e) => e.error.message)).toEqual(["down", "down", "down"]);
    await syncer.stop();
  });

  it("goes InSync only when the slowest source has listed", async () => {
    const kv = new MemoryKV();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const list = kv.list.bind(kv);
    kv.list = async (prefix, opts) => {
      if (prefix === "/slow/") await gate;
      return list(prefix, opts);
    };
    await kv.put("/slow/s", "1");
    const rec = recordSyncer();
    const syncer = new Syncer(
      kv,
      [jsonPrefixSource("fast", "/fast/"), jsonPrefixSource("slow", "/slow/")],
      rec,
      FAST,
    );
    syncer.start();
    await eventually(() => expect(rec.statuses).toEqual(["WaitForDatastore", "ResyncInProgress"]));
    await new Promise((r) => setTimeout(r, 50));
    expect(rec.statuses).not.toContain("InSync");
    release();
    await eventually(() => expect(rec.statuses).toContain("InSync"));
    expect(rec.timeline.slice(-2)).toEqual(["new:/slow/s", "status:InSync"]);
    await syncer.stop();
  });
});
