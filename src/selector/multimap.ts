/** Map-of-sets helpers that drop a key as soon as its set empties, so sizes stay meaningful. */

export function addToSet<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

export function removeFromSet<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

export function addToNested<K1, K2, V>(map: Map<K1, Map<K2, Set<V>>>, k1: K1, k2: K2, value: V): void {
  let inner = map.get(k1);
  if (!inner) {
    inner = new Map();
    map.set(k1, inner);
  }
  addToSet(inner, k2, value);
}

export function removeFromNested<K1, K2, V>(map: Map<K1, Map<K2, Set<V>>>, k1: K1, k2: K2, value: V): void {
  const inner = map.get(k1);
  if (!inner) return;
  removeFromSet(inner, k2, value);
  if (inner.size === 0) map.delete(k1);
}
