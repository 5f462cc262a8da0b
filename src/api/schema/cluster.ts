/** Cluster-wide singletons: ClusterInformation and KubeControllersConfiguration. */
import { selector } from "./common.js";
import { always, bool, duration, enumOf, int, list, map, obj, opt, ptr, str } from "./dsl.js";

export const clusterInformationSpec = obj([
  opt("clusterGUID", str()),
  opt("clusterType", str()),
  opt("calicoVersion", str()),
  ptr("datastoreReady", bool),
  opt("variant", str()),
]);

const enabledDisabled = enumOf(["Enabled", "Disabled"]);
const reconciler = obj([ptr("reconcilerPeriod", duration)]);

const hostEndpointTemplate = obj([
  opt("generateName", str({ format: "name", maxLength: 253 })),
  opt("interfaceCIDRs", list(str({ format: "cidr" }))),
  opt("interfacePattern", str({ format: "regexp" })),
  opt("labels", map()),
  opt("annotations", map()),
  opt("nodeSelector", selector()),
]);

const controllers = obj([
  ptr(
    "node",
    obj([
      ptr("reconcilerPeriod", duration),
      opt("syncLabels", enabledDisabled),
      ptr(
        "hostEndpoint",
        obj([
          opt("autoCreate", enabledDisabled),
          opt("createDefaultHostEndpoint", enabledDisabled),
          opt("templates", list(hostEndpointTemplate)),
        ]),
      ),
      ptr("leakGracePeriod", duration),
    ]),
  ),
  ptr("policy", reconciler),
  ptr("workloadEndpoint", reconciler),
  ptr("serviceAccount", reconciler),
  ptr("namespace", reconciler),
  ptr("loadBalancer", obj([opt("assignIPs", enumOf(["AllServices", "RequestedServicesOnly"]))])),
  ptr("migration", obj([opt("policyNameMigrator", enabledDisabled)])),
]);

export const kubeControllersConfigurationSpec = obj([
  opt("logSeverityScreen", enumOf(["None", "Debug", "Info", "Warning", "Error", "Fatal", "Panic"])),
  opt("healthChecks", enabledDisabled),
  ptr("etcdV3CompactionPeriod", duration),
  ptr("prometheusMetricsPort", int({ min: 0, max: 65535 })),
  always("controllers", controllers),
  ptr("debugProfilePort", int({ min: 0, max: 65535 })),
]);

export const kubeControllersConfigurationStatus = obj([
  ptr("runningConfig", kubeControllersConfigurationSpec),
  opt("environmentVars", map()),
]);
