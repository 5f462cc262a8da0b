/** calicoctl's result messages for the verbs that change (or validate) resources. */
import type { CommandResults } from "./execute.js";
import { CliError, goErrorList } from "./io.js";

const PAST = { create: "created", apply: "applied", validate: "validated", replace: "replaced" } as const;

function kindPart(results: CommandResults): string {
  return results.singleKind ? ` '${results.singleKind}'` : "";
}

/**
 * create, apply, validate. Every resource is attempted and the failures listed together. The
 * "Partial success" line is printed only when the successes outnumber the failures, which is
 * Calico's (odd) rule, kept so scripts reading the output see the same lines.
 */
export function reportCreateLike(
  verb: "create" | "apply" | "validate",
  results: CommandResults,
  out: (text: string) => void,
): void {
  const { numHandled: n, numResources: m, errors } = results;
  const k = kindPart(results);
  if (m === 0) {
    out("No resources specified\n");
    return;
  }
  if (n === 0) {
    if (m === 1) throw new CliError(`failed to ${verb}${k} resource: ${goErrorList(errors)}`);
    throw new CliError(`failed to ${verb} any${k} resources: ${goErrorList(errors)}`);
  }
  if (errors.length === 0) {
    out(`Successfully ${PAST[verb]} ${n}${k} resource(s)\n`);
    return;
  }
  if (n - errors.length > 0)
    out(`Partial success: ${PAST[verb]} the first ${n} out of ${m}${k} resources:\n`);
  throw new CliError(`hit error: ${goErrorList(errors)}`);
}

/** replace stops at its first failure, so "the first N" are exactly those replaced. */
export function reportReplace(results: CommandResults, out: (text: string) => void): void {
  const { numHandled: n, numResources: m, errors } = results;
  const k = kindPart(results);
  const error = errors[errors.length - 1];
  if (m === 0) {
    out("No resources specified\n");
    return;
  }
  if (!error) {
    out(`Successfully replaced ${n}${k} resource(s)\n`);
    return;
  }
  if (n === 0) {
    if (m === 1) throw new CliError(`failed to replace${k} resource: ${error.message}`);
    throw new CliError(`failed to replace any${k} resources: ${error.message}`);
  }
  out(`Partial success: replaced the first ${n} out of ${m}${k} resources:\n`);
  throw new CliError(`hit error: ${error.message}`);
}

/** delete reports what it deleted, then one line per resource it could not delete. */
export function reportDelete(results: CommandResults, out: (text: string) => void): void {
  const { numHandled: n, numResources: m, errors } = results;
  const k = kindPart(results);
  if (m === 0) {
    out("No resources specified\n");
    return;
  }
  if (n > 0) out(`Successfully deleted ${n}${k} resource(s)\n`);
  if (errors.length > 0) {
    throw new CliError(errors.map((e) => `Failed to delete${k} resource: ${e.message}`).join("\n"));
  }
}
