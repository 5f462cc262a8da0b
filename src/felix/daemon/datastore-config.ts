/**
 * Where Felix finds etcd. Felix's own parameters (`EtcdEndpoints`, `EtcdCaFile`, `EtcdCertFile`,
 * `EtcdKeyFile`, from `FELIX_*` or the config file) win; otherwise the environment calicoctl uses
 * (`ETCD_ENDPOINTS`, `DATASTORE_TYPE`, …), which is how calico-node passes it on.
 */
import { type CalicoAPIConfig, ConfigError, loadClientConfigFromEnv } from "../../datastore/index.js";

export function felixDatastoreConfig(
  local: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv,
): CalicoAPIConfig {
  const type = local.DatastoreType?.toLowerCase();
  if (type && type !== "etcdv3")
    throw new ConfigError(
      `DatastoreType '${local.DatastoreType}' is not supported: calico-ts runs on etcdv3 only`,
    );
  const base = loadClientConfigFromEnv(env);
  const endpoints =
    local.EtcdEndpoints ?? (local.EtcdAddr ? `${local.EtcdScheme ?? "http"}://${local.EtcdAddr}` : "");
  if (endpoints) {
    base.spec.datastoreType = "etcdv3";
    base.spec.etcdEndpoints = endpoints;
    if (local.EtcdCaFile) base.spec.etcdCACertFile = local.EtcdCaFile;
    if (local.EtcdCertFile) base.spec.etcdCertFile = local.EtcdCertFile;
    if (local.EtcdKeyFile) base.spec.etcdKeyFile = local.EtcdKeyFile;
  }
  if (base.spec.datastoreType !== "etcdv3" || (!base.spec.etcdEndpoints && !base.spec.etcdDiscoverySrv))
    throw new ConfigError(
      "no etcd datastore configured: set FELIX_ETCDENDPOINTS (or ETCD_ENDPOINTS), e.g. http://127.0.0.1:2379",
    );
  return base;
}
