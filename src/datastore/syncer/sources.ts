/** Ready-made sources: v3 resource kinds, and raw KV prefixes with a caller's decoder. */
import { type KindInfo, kindInfo } from "../../api/kinds.js";
import { InvalidRequestError } from "../errors.js";
import type { KeyValue } from "../kv.js";
import {
  DEFAULT_ALLOW_PROFILE,
  DEFAULT_ALLOW_REVISION,
  defaultAllowProfile,
} from "../resources/default-profile.js";
import { decodeResource } from "../resources/encoding.js";
import { listPrefix, parseResourcePath, resourcePath } from "../resources/keys.js";
import type { SyncSource } from "./types.js";

/** Every object of one v3 kind, decoded to a Resource. Profiles include the default-allow one. */
export function resourceSource(kind: string | KindInfo): SyncSource {
  const info = typeof kind === "string" ? kindInfo(kind) : kind;
  if (!info) throw new InvalidRequestError(`resource type '${String(kind)}' is not supported`);
  const defaultAllowKey = resourcePath(info, { kind: info.kind, name: DEFAULT_ALLOW_PROFILE });
  const isProfile = info.kind === "Profile";
  return {
    name: info.kind,
    prefix: listPrefix(info),
    decode(kv: KeyValue) {
      const key = parseResourcePath(info, kv.key);
      if (!key || (isProfile && kv.key === defaultAllowKey)) return undefined;
      return decodeResource(info, kv);
    },
    ...(isProfile
      ? {
          synthetic: () => [
            { key: defaultAllowKey, value: defaultAllowProfile(), revision: DEFAULT_ALLOW_REVISION },
          ],
        }
      : {}),
  };
}

/** A raw prefix such as `/calico/ipam/v2/assignment/`, its values parsed by `decode`. */
export function prefixSource(name: string, prefix: string, decode: (kv: KeyValue) => unknown): SyncSource {
  return { name, prefix, decode };
}

/** JSON values under a prefix; an unparseable value counts as undecodable. */
export function jsonPrefixSource(name: string, prefix: string): SyncSource {
  return prefixSource(name, prefix, (kv) => JSON.parse(kv.value) as unknown);
}
