/**
 * The engine behind create, apply, replace, delete, get and validate: gather the resources
 * (from `-f` or `KIND NAME...`), then run the verb on each in order. Per-resource failures are
 * collected so the rest still run, except for replace, which stops at its first failure.
 */
import { canonicalize } from "../api/index.js";
import { ResourceAlreadyExistsError, ResourceNotFoundError } from "../datastore/errors.js";
import {
  applyResource,
  createResource,
  deleteResource,
  getOrList,
  isListOutput,
  type Output,
  replaceResource,
  validateResource,
} from "./actions.js";
import type { CommandContext } from "./context.js";
import { resourcesFromArgs } from "./input/args.js";
import { loadInputs } from "./input/load.js";
import type { InputResource } from "./input/types.js";
import { settleNamespace } from "./namespace.js";
import { openCommandSession, type Session } from "./session.js";

export type Verb = "create" | "apply" | "replace" | "delete" | "get" | "validate";

export interface ExecuteRequest {
  verb: Verb;
  filename?: string;
  recursive?: boolean;
  skipEmpty?: boolean;
  /** Used when there is no filename. */
  kind?: string;
  names?: string[];
  namespace?: string;
  allNamespaces?: boolean;
  skipExists?: boolean;
  skipNotExists?: boolean;
  export?: boolean;
  configPath?: string;
  /** Runs while the datastore connection is still open (rendering may need to read more). */
  beforeClose?: (results: CommandResults, session: Session | undefined) => Promise<void>;
}

export interface CommandResults {
  /** Resources the command was asked to handle. */
  numResources: number;
  /** Resources handled successfully (skipped ones count as handled). */
  numHandled: number;
  /** The kind, when every resource shares it or the command line named it. */
  singleKind: string;
  outputs: Output[];
  /** Per-resource failures, in order. */
  errors: Error[];
}

const WRITES: ReadonlySet<Verb> = new Set(["create", "apply", "replace"]);

const CLUSTER_SPECIFIC_METADATA = [
  "namespace",
  "uid",
  "resourceVersion",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
];

/** Outputs in canonical form; with `--export`, a named object loses what ties it to one cluster. */
function finish(output: Output, exporting: boolean): Output {
  if (isListOutput(output)) return { ...output, items: output.items.map((i) => canonicalize(i)) };
  const resource = canonicalize(output);
  if (!exporting) return resource;
  const metadata = { ...resource.metadata };
  for (const field of CLUSTER_SPECIFIC_METADATA) delete metadata[field];
  return { ...resource, metadata };
}

async function gather(ctx: CommandContext, req: ExecuteRequest): Promise<InputResource[]> {
  if (req.filename !== undefined) {
    return loadInputs({
      filename: req.filename,
      recursive: req.recursive === true,
      skipEmpty: req.skipEmpty === true,
      readStdin: () => ctx.io.readStdin(),
    });
  }
  return resourcesFromArgs(req.kind ?? "", req.names ?? [], {
    ...(req.namespace !== undefined ? { namespace: req.namespace } : {}),
    listWhenUnnamed: req.verb === "get",
  });
}

function runVerb(session: Session | undefined, ctx: CommandContext, verb: Verb, input: InputResource) {
  const client = session?.client;
  const replaceOpts = { sleep: ctx.sleep };
  switch (verb) {
    case "validate":
      return Promise.resolve(validateResource(input));
    case "create":
      return createResource(client!, input);
    case "apply":
      return applyResource(client!, input, replaceOpts);
    case "replace":
      return replaceResource(client!, input, replaceOpts);
    case "delete":
      return deleteResource(client!, input);
    case "get":
      return getOrList(client!, input);
  }
}

function skipped(req: ExecuteRequest, err: unknown): boolean {
  return (
    (req.skipExists === true && err instanceof ResourceAlreadyExistsError) ||
    (req.skipNotExists === true && err instanceof ResourceNotFoundError)
  );
}

/**
 * Throws DocumentError or CliError for input problems, before contacting the datastore; the
 * datastore connection is opened only when there is something to do.
 */
export async function execute(ctx: CommandContext, req: ExecuteRequest): Promise<CommandResults> {
  const inputs = await gather(ctx, req);
  const kinds = new Set(inputs.map((i) => i.info.kind));
  const results: CommandResults = {
    numResources: inputs.length,
    numHandled: 0,
    singleKind: kinds.size === 1 || req.filename === undefined ? ([...kinds][0] ?? "") : "",
    outputs: [],
    errors: [],
  };
  if (inputs.length === 0) {
    await req.beforeClose?.(results, undefined);
    return results;
  }
  const session = req.verb === "validate" ? undefined : await openCommandSession(ctx, req.configPath);
  try {
    if (session && WRITES.has(req.verb)) {
      // Permissions may allow writing some kinds only, so a failure here must not stop the command.
      await session.client.ensureInitialized().catch((err: Error) => {
        ctx.log.info(`Unable to initialize datastore: ${err.message}`);
      });
    }
    for (const raw of inputs) {
      try {
        const input = settleNamespace(raw, req);
        const output = await runVerb(session, ctx, req.verb, input);
        results.outputs.push(finish(output, req.export === true && input.resource.metadata.name !== ""));
        results.numHandled++;
      } catch (err) {
        if (skipped(req, err)) {
          results.outputs.push(raw.resource);
          results.numHandled++;
          continue;
        }
        results.errors.push(err instanceof Error ? err : new Error(String(err)));
        if (req.verb === "replace") break;
      }
    }
    await req.beforeClose?.(results, session);
  } finally {
    await session?.close();
  }
  return results;
}
