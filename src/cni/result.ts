/**
 * CNI results. Internally a result is held in the 1.x shape; `formatResult` renders it for the
 * version the runtime asked for and `parseResult` reads whatever version a delegated plugin
 * printed, so the two ends of a chain can speak different versions.
 */
import { CniError, ErrorCode } from "./errors.js";
import { compareVersions } from "./versions.js";

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

export interface CniIPConfig {
  /** CIDR form: address plus prefix length. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  interfaces: CniInterface[];
  ips: CniIPConfig[];
  routes: CniRoute[];
  dns: CniDNS;
}

type Obj = Record<string, unknown>;

const isV6 = (cidr: string) => cidr.includes(":");

function routeOut(r: CniRoute): Obj {
  return r.gw ? { dst: r.dst, gw: r.gw } : { dst: r.dst };
}

function dnsOut(d: CniDNS): Obj {
  const out: Obj = {};
  if (d.nameservers?.length) out.nameservers = d.nameservers;
  if (d.domain) out.domain = d.domain;
  if (d.search?.length) out.search = d.search;
  if (d.options?.length) out.options = d.options;
  return out;
}

function legacyFamily(result: CniResult, v6: boolean): Obj | undefined {
  const ip = result.ips.find((i) => isV6(i.address) === v6);
  if (!ip) return undefined;
  const out: Obj = { ip: ip.address };
  if (ip.gateway) out.gateway = ip.gateway;
  const routes = result.routes.filter((r) => isV6(r.dst) === v6).map(routeOut);
  if (routes.length) out.routes = routes;
  return out;
}

/** Renders `result` as the JSON object a runtime speaking `version` expects. */
export function formatResult(result: CniResult, version: string): Obj {
  if ((compareVersions(version, "0.3.0") ?? 0) < 0) {
    const out: Obj = { cniVersion: version };
    const ip4 = legacyFamily(result, false);
    const ip6 = legacyFamily(result, true);
    if (ip4) out.ip4 = ip4;
    if (ip6) out.ip6 = ip6;
    out.dns = dnsOut(result.dns);
    return out;
  }
  const withFamily = (compareVersions(version, "1.0.0") ?? 0) < 0;
  const out: Obj = { cniVersion: version };
  if (result.interfaces.length) {
    out.interfaces = result.interfaces.map((i) => {
      const o: Obj = { name: i.name };
      if (i.mac) o.mac = i.mac;
      if (i.mtu && !withFamily) o.mtu = i.mtu;
      if (i.sandbox) o.sandbox = i.sandbox;
      return o;
    });
  }
  if (result.ips.length) {
    out.ips = result.ips.map((ip) => {
      const o: Obj = {};
      if (withFamily) o.version = isV6(ip.address) ? "6" : "4";
      if (ip.interface !== undefined) o.interface = ip.interface;
      o.address = ip.address;
      if (ip.gateway) o.gateway = ip.gateway;
      return o;
    });
  }
  if (result.routes.length) out.routes = result.routes.map(routeOut);
  out.dns = dnsOut(result.dns);
  return out;
}

function bad(what: string): CniError {
  return new CniError(ErrorCode.decodingFailure, `could not decode CNI result: ${what}`);
}

function str(v: unknown, what: string): string {
  if (typeof v !== "string") throw bad(`${what} must be a string`);
  return v;
}

function optStr(v: unknown, what: string): string | undefined {
  return v === undefined || v === null || v === "" ? undefined : str(v, what);
}

function parseRoutes(v: unknown, what: string): CniRoute[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(`${what} must be an array`);
  return v.map((r: Obj, i) => {
    const gw = optStr(r?.gw, `${what}[${i}].gw`);
    const dst = str(r?.dst, `${what}[${i}].dst`);
    return gw ? { dst, gw } : { dst };
  });
}

function parseDns(v: unknown): CniDNS {
  if (typeof v !== "object" || v === null) return {};
  const d = v as Obj;
  const out: CniDNS = {};
  if (Array.isArray(d.nameservers)) out.nameservers = d.nameservers.map(String);
  if (typeof d.domain === "string" && d.domain) out.domain = d.domain;
  if (Array.isArray(d.search)) out.search = d.search.map(String);
  if (Array.isArray(d.options)) out.options = d.options.map(String);
  return out;
}

/** Reads a result printed by any supported version into the 1.x shape. */
export function parseResult(value: unknown): CniResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("not a JSON object");
  const o = value as Obj;
  const result: CniResult = { interfaces: [], ips: [], routes: [], dns: parseDns(o.dns) };
  if (o.ips === undefined && (o.ip4 !== undefined || o.ip6 !== undefined)) {
    for (const fam of ["ip4", "ip6"] as const) {
      const f = o[fam] as Obj | undefined;
      if (!f) continue;
      const gateway = optStr(f.gateway, `${fam}.gateway`);
      result.ips.push(
        gateway ? { address: str(f.ip, `${fam}.ip`), gateway } : { address: str(f.ip, `${fam}.ip`) },
      );
      result.routes.push(...parseRoutes(f.routes, `${fam}.routes`));
    }
    return result;
  }
  if (o.interfaces !== undefined) {
    if (!Array.isArray(o.interfaces)) throw bad("interfaces must be an array");
    result.interfaces = o.interfaces.map((i: Obj, n) => {
      const out: CniInterface = { name: str(i?.name, `interfaces[${n}].name`) };
      const mac = optStr(i.mac, `interfaces[${n}].mac`);
      const sandbox = optStr(i.sandbox, `interfaces[${n}].sandbox`);
      if (mac) out.mac = mac;
      if (typeof i.mtu === "number" && i.mtu > 0) out.mtu = i.mtu;
      if (sandbox) out.sandbox = sandbox;
      return out;
    });
  }
  if (o.ips !== undefined) {
    if (!Array.isArray(o.ips)) throw bad("ips must be an array");
    result.ips = o.ips.map((ip: Obj, n) => {
      const out: CniIPConfig = { address: str(ip?.address, `ips[${n}].address`) };
      const gateway = optStr(ip.gateway, `ips[${n}].gateway`);
      if (gateway) out.gateway = gateway;
      if (typeof ip.interface === "number") out.interface = ip.interface;
      return out;
    });
  }
  result.routes = parseRoutes(o.routes, "routes");
  return result;
}
