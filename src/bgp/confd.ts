/**
 * The confd role: watch what BGP depends on (Nodes, BGPPeers, BGPConfigurations, IP pools and this
 * node's block affinities), render BIRD's configuration once in sync and again on every relevant
 * change (coalesced), write it only when its text changed, and ask BIRD to reload. BIRD 2 keeps
 * every protocol whose configuration did not change, so unchanged sessions stay up.
 */
import { rename, writeFile } from "node:fs/promises";
import { applyDefaults, formatValidationErrors, type Resource, validate } from "../api/index.js";
import {
  AFFINITY_ROOT,
  bgpSources,
  BGP_KINDS as KINDS,
  type KVStore,
  Syncer,
  type SyncUpdate,
} from "../datastore/index.js";
import { decodeAffinity, parseAffinityKey } from "../ipam/index.js";
import type { Logger } from "../lib/log.js";
import { formatCIDR } from "../lib/net.js";
import { type TyphaClientSettings, TyphaSyncClient } from "../typha/index.js";
import { BirdClient } from "./birdc.js";
import { renderBirdConfig } from "./render.js";

export interface ConfdOptions {
  nodeName: string;
  /** Watch etcd directly… */
  kv?: KVStore;
  /** …or take the `bgp` syncer stream from Typha. */
  typha?: TyphaClientSettings & { logger?: Logger };
  /** Where `bird.cfg` is written. */
  configFile: string;
  /** BIRD's control socket; reloads are skipped while BIRD is not up (it reads the file at start). */
  birdSocket: string;
  routerId?: string;
  /** Coalescing window for bursts of changes. */
  debounceMs?: number;
  /** First wait before asking BIRD again after a failed reload; doubles up to 10 s. */
  reloadRetryMs?: number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export interface ConfdHandle {
  /** Resolves once the first configuration has been written. */
  readonly firstRender: Promise<void>;
  readonly renders: number;
  readonly reloads: number;
  lastConfig(): string;
  stop(): Promise<void>;
}

export function startConfd(opts: ConfdOptions): ConfdHandle {
  const resources = new Map<string, Map<string, Resource>>(KINDS.map((k) => [k, new Map()]));
  const affinities = new Map<string, string>();
  const bird = new BirdClient(opts.birdSocket);
  let inSync = false;
  let timer: NodeJS.Timeout | undefined;
  let rendering = Promise.resolve();
  let last = "";
  let renders = 0;
  let reloads = 0;
  let stopped = false;
  /** BIRD has not yet taken the file last written. */
  let reloadPending = false;
  let failedReloads = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let resolveFirst!: () => void;
  const firstRender = new Promise<void>((r) => {
    resolveFirst = r;
  });

  const affinityPrefix = `${AFFINITY_ROOT}${opts.nodeName}/`;

  /** Someone else's value under a Calico key: named in the log, then treated as absent. */
  const skip = (key: string, reason: string) =>
    opts.log?.warn({ key, err: reason }, "Skipping invalid datastore value");

  const affinityState = (key: string, value: unknown) => {
    if (value === null) return undefined;
    try {
      return decodeAffinity(String(value));
    } catch (err) {
      skip(key, (err as Error).message);
      return undefined;
    }
  };

  const valid = (key: string, value: unknown): value is Resource => {
    // Validated as stored by Calico's API (defaulted), so only values no Calico client wrote fail.
    const errors = validate(applyDefaults(value as Resource));
    if (errors.length === 0) return true;
    skip(key, formatValidationErrors(errors));
    return false;
  };

  const onUpdates = (updates: SyncUpdate[]) => {
    for (const u of updates) {
      if (u.source === "BlockAffinity") {
        if (!u.key.startsWith(affinityPrefix)) continue;
        const parsed = parseAffinityKey(u.key);
        const state = affinityState(u.key, u.value);
        // Pending claims are invisible to BGP; confirmed, legacy and pendingDeletion count.
        if (parsed && state && !state.deleted && state.state !== "pending")
          affinities.set(u.key, formatCIDR(parsed.cidr));
        else affinities.delete(u.key);
      } else {
        const map = resources.get(u.source);
        if (u.value !== null && valid(u.key, u.value)) map?.set(u.key, u.value);
        else map?.delete(u.key);
      }
    }
    schedule();
  };

  const schedule = () => {
    if (!inSync || stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      rendering = rendering.then(guardedRender, guardedRender);
    }, opts.debounceMs ?? 50);
  };

  const render = async () => {
    if (stopped) return;
    const text = renderBirdConfig({
      nodeName: opts.nodeName,
      nodes: [...(resources.get("Node")?.values() ?? [])],
      peers: [...(resources.get("BGPPeer")?.values() ?? [])],
      configs: [...(resources.get("BGPConfiguration")?.values() ?? [])],
      pools: [...(resources.get("IPPool")?.values() ?? [])],
      blocks: [...affinities.values()],
      ...(opts.routerId ? { routerId: opts.routerId } : {}),
    });
    if (text === last) return;
    const tmp = `${opts.configFile}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, opts.configFile);
    last = text;
    renders++;
    resolveFirst();
    opts.log?.info({ file: opts.configFile }, "Wrote BIRD configuration");
    reloadPending = true;
    await reload();
  };

  /**
   * Asks BIRD to take the file, and keeps asking until it has: a reload refused or timed out under
   * load would otherwise leave BIRD on the old file until some later change (a new block never
   * exported, its pods unreachable). BIRD that is not running yet reads the file when it starts;
   * asking it again then is harmless.
   */
  const reload = async () => {
    if (!reloadPending || stopped) return;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    try {
      await bird.configure();
      reloads++;
      reloadPending = false;
      if (failedReloads > 1)
        opts.log?.info({ attempts: failedReloads + 1 }, "BIRD reloaded after failed attempts");
      failedReloads = 0;
    } catch (err) {
      // The first render usually comes before BIRD has started (it then reads the file itself):
      // one failure is the normal start-up order, a second one is worth a warning.
      if (failedReloads === 1)
        opts.log?.warn(
          { err: (err as Error).message },
          "BIRD reload failed twice; retrying until it succeeds",
        );
      const wait = Math.min((opts.reloadRetryMs ?? 1_000) * 2 ** failedReloads, 10_000);
      failedReloads++;
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        rendering = rendering.then(guardedReload, guardedReload);
      }, wait);
      retryTimer.unref();
    }
  };

  // A render that fails (a value validation let through) must not take confd down: BIRD keeps
  // its last configuration and the next change renders again.
  const guardedRender = () =>
    render().catch((err: Error) =>
      opts.log?.warn({ err: err.message }, "Rendering BIRD configuration failed"),
    );
  const guardedReload = () => reload().catch(() => undefined);

  const callbacks = {
    // Undecodable values are named (with their key) in the error; the syncer skips them.
    onError: (source: string, error: Error) =>
      opts.log?.warn({ source, err: error.message }, "Datastore sync error"),
    onStatus: (s: string) => {
      if (s === "InSync" && !inSync) {
        inSync = true;
        schedule();
      }
    },
    onUpdates,
  };
  let syncer: { start(): void; stop(): Promise<void> };
  if (opts.typha) {
    const { logger, ...settings } = opts.typha;
    syncer = new TyphaSyncClient(
      {
        ...settings,
        syncerType: "bgp",
        hostname: opts.nodeName,
        info: "confd",
        startupTimeoutMs: Infinity,
        ...(logger ? { log: logger } : {}),
      },
      callbacks,
    );
  } else if (opts.kv) {
    syncer = new Syncer(opts.kv, bgpSources(affinityPrefix), callbacks);
  } else {
    throw new Error("confd needs a datastore (kv) or Typha");
  }
  syncer.start();

  return {
    firstRender,
    get renders() {
      return renders;
    },
    get reloads() {
      return reloads;
    },
    lastConfig: () => last,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (retryTimer) clearTimeout(retryTimer);
      await syncer.stop();
      await rendering.catch(() => undefined);
    },
  };
}
