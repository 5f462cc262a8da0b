/**
 * Kubernetes name rules used for labels and annotations, with the apimachinery wording
 * (`IsQualifiedName`, `IsValidLabelValue`, `IsDNS1123Subdomain`, `IsDNS1123Label`).
 */

const QNAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const qualifiedNameRegex = new RegExp(`^${QNAME}$`);
const labelValueRegex = new RegExp(`^(${QNAME})?$`);
const DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS_SUBDOMAIN = `${DNS_LABEL}(\\.${DNS_LABEL})*`;
const dnsSubdomainRegex = new RegExp(`^${DNS_SUBDOMAIN}$`);
const dnsLabelRegex = new RegExp(`^${DNS_LABEL}$`);

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(" or ")}regex used for validation is '${fmt}')`;
}

const QNAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push("must be no more than 253 characters");
  if (!dnsSubdomainRegex.test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS_SUBDOMAIN,
        "example.com",
      ),
    );
  }
  return errs;
}

export function isDNS1123Label(value: string): boolean {
  return value.length <= 63 && dnsLabelRegex.test(value);
}

export function qualifiedNameErrors(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else errs.push(...dns1123SubdomainErrors(prefix).map((e) => `prefix part ${e}`));
  } else {
    return [
      `a qualified name ${regexError(QNAME_MSG, QNAME, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else if (name.length > 63) errs.push("name part must be no more than 63 characters");
  if (!qualifiedNameRegex.test(name))
    errs.push(`name part ${regexError(QNAME_MSG, QNAME, "MyName", "my.name", "123-abc")}`);
  return errs;
}

export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push("must be no more than 63 characters");
  if (!labelValueRegex.test(value)) {
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        `(${QNAME})?`,
        "MyValue",
        "my_value",
        "12345",
      ),
    );
  }
  return errs;
}
