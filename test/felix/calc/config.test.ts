import { describe, expect, it } from "vitest";
import {
  CalcGraph,
  type ConfigUpdate,
  configFromEnvironment,
  configFromFile,
  type ToDataplane,
} from "../../../src/felix/calc/index.js";
import { felixConfig, node } from "./fixtures.js";

const configOf = (batch: ToDataplane[]) => batch.find((m): m is ConfigUpdate => m.type === "ConfigUpdate");

describe("config sources", () => {
  it("reads FELIX_ variables case-insensitively into canonical names", () => {
    expect(
      configFromEnvironment({
        FELIX_LOGSEVERITYSCREEN: "debug",
        felix_ipinipenabled: "true",
        FELIX_SomethingNew: "1",
        FELIX_EMPTY: "",
        PATH: "/bin",
      }),
    ).toEqual({ LogSeverityScreen: "debug", IpInIpEnabled: "true", SomethingNew: "1" });
  });

  it("reads INI lines from any section", () => {
    expect(
      configFromFile("[global]\n# comment\nLogSeverityScreen = Info\n\n[other]\nfelixhostname=h1\nBad\n"),
    ).toEqual({
      LogSeverityScreen: "Info",
      FelixHostname: "h1",
    });
  });
});

describe("ConfigBatcher", () => {
  it("merges env > file > per-host > selector-scoped > global, only after in-sync", () => {
    const graph = new CalcGraph({
      hostname: "host1",
      local: {
        environment: { LogSeverityScreen: "Debug" },
        configFile: { LogSeverityScreen: "Info", LogPrefix: "file" },
      },
    });
    graph.onUpdates([
      felixConfig(
        "default",
        {
          logSeverityScreen: "Warning",
          logPrefix: "global",
          ipipEnabled: true,
          routeRefreshInterval: "1m30s",
          iptablesLockProbeInterval: "50ms",
          failsafeInboundHostPorts: [
            { protocol: "TCP", port: 22 },
            { protocol: "UDP", net: "fd00::/8", port: 53 },
          ],
          interfacePrefix: "cali",
          reportingInterval: "0s",
        },
        { annotations: { "config.projectcalico.org/FelixHostname": "evil" } },
      ),
      felixConfig("node.host1", { interfacePrefix: "tap", vxlanMTU: 1400 }, { annotations: {} }),
      felixConfig("node.host2", { interfacePrefix: "other" }),
      felixConfig(
        "zone-a",
        { nodeSelector: "zone == 'a'", vxlanMTU: 1300, ipv6Support: false },
        { creationTimestamp: "2024-01-01T00:00:00Z" },
      ),
      felixConfig(
        "zone-a-newer",
        { nodeSelector: "zone == 'a'", ipv6Support: true, chainInsertMode: "Append" },
        { creationTimestamp: "2025-01-01T00:00:00Z" },
      ),
      node("host1", "192.168.0.1/24", { ipv4VXLANTunnelAddr: "10.65.0.1" }, { zone: "a" }),
    ]);
    expect(graph.flush()).toEqual([]);
    graph.onStatus("InSync");
    const config = configOf(graph.flush())!;
    expect(config.config).toMatchObject({
      LogSeverityScreen: "Debug",
      LogPrefix: "file",
      IpInIpEnabled: "true",
      RouteRefreshInterval: "90",
      IptablesLockProbeIntervalMillis: "50",
      FailsafeInboundHostPorts: "tcp:22,udp:[fd00::/8]:53",
      InterfacePrefix: "tap",
      VXLANMTU: "1400",
      Ipv6Support: "false",
      IPv4VXLANTunnelAddr: "10.65.0.1",
      ReportingIntervalSecs: "0",
    });
    expect(config.config.ChainInsertMode).toBeUndefined();
    expect(config.config.FelixHostname).toBeUndefined();
    expect(config.sourceToRawConfig.datastoreSelector).toEqual({ VXLANMTU: "1300", Ipv6Support: "false" });
    expect(Object.keys(config.config)).toEqual([...Object.keys(config.config)].sort());

    expect(configOf(graph.flush())).toBeUndefined();
    graph.onUpdate(node("host1", "192.168.0.1/24", { ipv4VXLANTunnelAddr: "10.65.0.1" }, { zone: "b" }));
    expect(configOf(graph.flush())!.config.Ipv6Support).toBeUndefined();
  });

  it("reports a datastore that is not ready once", () => {
    const graph = new CalcGraph({ hostname: "h" });
    graph.onStatus("InSync");
    graph.onUpdate({
      kind: "ClusterInformation",
      key: "/calico/resources/v3/projectcalico.org/clusterinformations/default",
      value: {
        apiVersion: "projectcalico.org/v3",
        kind: "ClusterInformation",
        metadata: { name: "default" },
        spec: { datastoreReady: false },
      },
    });
    const batch = graph.flush();
    expect(batch[0]).toEqual({ type: "DatastoreNotReady" });
    expect(graph.flush().some((m) => m.type === "DatastoreNotReady")).toBe(false);
  });
});
