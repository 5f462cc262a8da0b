/**
 * `projectcalico-default-allow`: an allow-all Profile the etcd backend presents as if stored.
 * Host endpoints name it to stay open in the absence of policy; it is never written.
 */
import { API_VERSION } from "../../api/kinds.js";
import type { Resource } from "../../api/meta.js";

export const DEFAULT_ALLOW_PROFILE = "projectcalico-default-allow";
export const DEFAULT_ALLOW_REVISION = "1";

export function defaultAllowProfile(): Resource {
  return {
    kind: "Profile",
    apiVersion: API_VERSION,
    metadata: { name: DEFAULT_ALLOW_PROFILE, resourceVersion: DEFAULT_ALLOW_REVISION },
    spec: { ingress: [{ action: "Allow" }], egress: [{ action: "Allow" }] },
  };
}

export function isDefaultAllowProfile(kind: string, name: string | undefined): boolean {
  return kind === "Profile" && name === DEFAULT_ALLOW_PROFILE;
}
