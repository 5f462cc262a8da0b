/** What each of Typha's syncer types watches: exactly what a Felix or a confd would watch directly. */
import { bgpSources, felixSources, type SyncSource } from "../datastore/index.js";
import type { SyncerType } from "./proto.js";

export function typhaSources(): Record<SyncerType, SyncSource[]> {
  return { felix: felixSources(), bgp: bgpSources() };
}
