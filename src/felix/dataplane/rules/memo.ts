/**
 * Rendering remembered between applies. The calc graph replaces an object (policy, profile,
 * endpoint, IP set) when it changes and never mutates it, so a rendering keyed by the object's
 * identity — plus a signature of anything else it read, such as which policy chains exist — stays
 * valid until then. A policy change then renders one policy's chains, not thousands of chains, and
 * the drivers can tell an unchanged chain by identity without comparing its rules.
 */
import type { RenderConfig } from "./config.js";

/** `map`'s value for `key`, made and stored first if there is none (a Map or a WeakMap). */
function entryOf<K, V>(
  map: { get(k: K): V | undefined; set(k: K, v: V): unknown },
  key: K,
  make: () => V,
): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

interface Entry<V> {
  sig: string;
  value: V;
}

export class RenderMemo {
  private readonly byConfig = new WeakMap<RenderConfig, WeakMap<object, Map<string, Entry<unknown>>>>();

  /**
   * The value rendered for `obj` under `key` (family, direction, chain name…) with this config,
   * rendered again only when `sig` differs from last time.
   */
  get<V>(cfg: RenderConfig, obj: object, key: string, sig: string, render: () => V): V {
    const byObject = entryOf(this.byConfig, cfg, () => new WeakMap());
    const entries = entryOf(byObject, obj, () => new Map<string, Entry<unknown>>());
    const hit = entries.get(key);
    if (hit && hit.sig === sig) return hit.value as V;
    const value = render();
    entries.set(key, { sig, value });
    return value;
  }
}

/** Shared by every render: entries die with the objects they describe. */
export const renderMemo = new RenderMemo();

/**
 * Renderings of objects that nothing but the object, the config and a scope (family, table)
 * decides, such as a policy's chains: one lookup per object, where `RenderMemo` builds a key
 * string and walks three maps. Walking a thousand policies on every render made that difference
 * count. `name` (the policy key) guards against one object standing under two names.
 */
export class ObjectMemo<V> {
  private readonly byConfig = new WeakMap<
    RenderConfig,
    Map<string, WeakMap<object, { name: string; value: V }>>
  >();

  /** The memo of one config and scope, to look objects up in for the rest of a render. */
  scope(cfg: RenderConfig, scope: string): (obj: object, name: string, render: () => V) => V {
    const scopes = entryOf(this.byConfig, cfg, () => new Map());
    const memo = entryOf(scopes, scope, () => new WeakMap<object, { name: string; value: V }>());
    return (obj, name, render) => {
      const hit = memo.get(obj);
      if (hit && hit.name === name) return hit.value;
      const value = render();
      memo.set(obj, { name, value });
      return value;
    };
  }
}

/**
 * Values that a key pins completely, such as a policy group's chain (its name hashes the ordered
 * policy list) or a selector's short id. Each render keeps what it asked for, so a key no render
 * uses any more is forgotten, and an unchanged one keeps last render's value (the same object).
 */
export class GenerationCache<V> {
  private readonly byConfig = new WeakMap<RenderConfig, Map<string, Map<string, V>>>();

  /** One render's view: `get` reuses last render's value; `done` keeps only this render's. */
  begin(cfg: RenderConfig, scope: string): { get(key: string, make: () => V): V; done(): void } {
    const kept = entryOf(this.byConfig, cfg, () => new Map());
    const prev = kept.get(scope) ?? new Map<string, V>();
    const next = new Map<string, V>();
    return {
      get(key, make) {
        const seen = next.get(key);
        if (seen !== undefined) return seen;
        const value = prev.get(key) ?? make();
        next.set(key, value);
        return value;
      },
      done() {
        kept.set(scope, next);
      },
    };
  }
}
