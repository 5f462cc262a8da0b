/** Calico's named string validators (`net`, `cidr`, `interface`, …) as reason-returning checks. */
import { isStrictlyMasked, parseCIDR, parseIP } from "../../lib/net.js";
import type { StringFormat } from "../schema/index.js";
import { selectorSyntaxError } from "./selector.js";

export const NAME_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
export const NAME_SUBDOMAIN = `${NAME_LABEL}(\\.${NAME_LABEL})*`;
export const subdomainRegex = new RegExp(`^${NAME_SUBDOMAIN}$`);
export const labelRegex = new RegExp(`^${NAME_LABEL}$`);
export const SUBDOMAIN_REASON = `name must consist of lower case alphanumeric characters, '-' or '.' (regex: ${NAME_SUBDOMAIN})`;

const interfaceRegex = /^[a-zA-Z0-9_.-]{1,15}$/;
const wildcardInterfaceRegex = /^[a-zA-Z0-9_.*-]{1,15}$/;
const ifaceFilterRegex = /^[a-zA-Z0-9:._+-]{1,15}$/;
const prometheusHostRegex = /^[a-zA-Z0-9:._+-]{1,64}$/;
const containerIDRegex = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const keyValueRegex = /^\s*(\w+)=(.*)$/;
const ipv4Port = /^(\d+).(\d+).(\d+).(\d+):(\d+)$/;
const ipv6Port = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/;

/** Kubernetes IANA service name rules (`IsValidPortName`). */
export function isValidPortName(name: string): boolean {
  return (
    name.length >= 1 &&
    name.length <= 15 &&
    /^[-a-z0-9]+$/.test(name) &&
    /[a-z]/.test(name) &&
    !name.startsWith("-") &&
    !name.endsWith("-") &&
    !name.includes("--")
  );
}

/** Go's `net.ParseMAC` forms: 6, 8 or 20 bytes, `:`/`-` pairs or `.` quads. */
function isMAC(text: string): boolean {
  const sep = text.includes(":") ? ":" : text.includes("-") ? "-" : ".";
  const width = sep === "." ? 4 : 2;
  const groups = text.split(sep);
  if (!groups.every((g) => g.length === width && /^[0-9a-fA-F]+$/.test(g))) return false;
  const bytes = (groups.length * width) / 2;
  return bytes === 6 || bytes === 8 || bytes === 20;
}

/** Splits `IP`, `IPv4:port` or `[IPv6]:port`; undefined when malformed. */
export function splitIPPort(text: string): { ip: string; port?: number } | undefined {
  let ip = text;
  let port: number | undefined;
  const v4 = ipv4Port.exec(text);
  const v6 = ipv6Port.exec(text);
  if (v4) {
    ip = text.slice(0, text.lastIndexOf(":"));
    port = Number(v4[5]);
  } else if (v6) {
    ip = v6[1]!;
    port = Number(v6[2]);
  }
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  if (!parseIP(ip)) return undefined;
  return port === undefined ? { ip } : { ip, port };
}

function isWireguardKey(text: string): boolean {
  return /^[A-Za-z0-9+/]{43}=$/.test(text) && Buffer.from(text, "base64").length === 32;
}

function cidrCheck(
  text: string,
  family: 4 | 6 | undefined,
  strict: boolean,
  label: string,
): string | undefined {
  const cidr = parseCIDR(text, { allowBareIP: true });
  if (!cidr || (family && cidr.family !== family)) return `invalid ${label}`;
  if (strict && !isStrictlyMasked(cidr)) return `${label} is not strictly masked`;
  return undefined;
}

function ipCheck(text: string, family: 4 | 6 | undefined): string | undefined {
  const ip = parseIP(text);
  if (ip && (!family || ip.family === family)) return undefined;
  return `invalid ${family ? `IPv${family} ` : "IP "}address`;
}

/** Why `text` fails the named format, or undefined. Empty strings are not checked here. */
export function formatError(format: StringFormat, text: string): string | undefined {
  switch (format) {
    case "selector": {
      const err = selectorSyntaxError(text);
      return err === undefined ? undefined : `invalid selector: ${err}`;
    }
    case "name":
      return subdomainRegex.test(text) ? undefined : SUBDOMAIN_REASON;
    case "net":
      return cidrCheck(text, undefined, true, "CIDR");
    case "netv4":
      return cidrCheck(text, 4, true, "IPv4 CIDR");
    case "netv6":
      return cidrCheck(text, 6, true, "IPv6 CIDR");
    case "cidr":
      return cidrCheck(text, undefined, false, "CIDR");
    case "cidrv4":
      return cidrCheck(text, 4, false, "IPv4 CIDR");
    case "cidrv6":
      return cidrCheck(text, 6, false, "IPv6 CIDR");
    case "ip":
      return ipCheck(text, undefined);
    case "ipv4":
      return ipCheck(text, 4);
    case "ipv6":
      return ipCheck(text, 6);
    case "mac":
      return isMAC(text) ? undefined : "invalid MAC address";
    case "interface":
      return text === "*" || interfaceRegex.test(text) ? undefined : "invalid interface name";
    case "ifaceFilter":
      return ifaceFilterRegex.test(text) ? undefined : "invalid interface filter";
    case "ignoredInterface":
      return text !== "*" && wildcardInterfaceRegex.test(text) ? undefined : "invalid interface name";
    case "bgpFilterInterface":
      return text === "*" || wildcardInterfaceRegex.test(text) ? undefined : "invalid interface name";
    case "portName":
      return isValidPortName(text) ? undefined : "invalid port name";
    case "containerID":
      return containerIDRegex.test(text) ? undefined : "invalid container ID";
    case "regexp":
      try {
        new RegExp(text);
        return undefined;
      } catch {
        return "invalid regular expression";
      }
    case "keyValueList":
      return text.split(",").every((item) => item === "" || keyValueRegex.test(item))
        ? undefined
        : "must be a comma-separated list of key=value pairs";
    case "prometheusHost":
      return prometheusHostRegex.test(text) ? undefined : "invalid host";
    case "ipPort":
      return splitIPPort(text) ? undefined : "must be <IP>, <IPv4>:<port> or [<IPv6>]:<port>";
    case "wireguardKey":
      return isWireguardKey(text) ? undefined : "invalid WireGuard public key";
  }
}
