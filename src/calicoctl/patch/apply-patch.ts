/**
 * Patch documents as `calicoctl patch -t` understands them. `strategic` (the default) behaves
 * as a JSON merge patch, because Calico's types declare no merge keys: maps merge, lists are
 * replaced, `null` removes a field; it also honours the `$patch: replace|delete` directives.
 * `merge` is RFC 7386 and `json` is RFC 6902.
 */

export type PatchType = "strategic" | "merge" | "json";

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

export class PatchError extends Error {
  override name = "PatchError";
}

function mergePatch(target: unknown, patch: unknown, strategic: boolean): unknown {
  if (!isPlain(patch)) return patch;
  let fields = patch;
  let base: Plain = isPlain(target) ? { ...target } : {};
  if (strategic) {
    const { $patch: directive, ...rest } = patch;
    if (directive === "delete") return undefined;
    if (directive === "replace") base = {};
    fields = rest;
  }
  for (const [key, value] of Object.entries(fields)) {
    const merged = value === null ? undefined : mergePatch(base[key], value, strategic);
    if (merged === undefined) delete base[key];
    else base[key] = merged;
  }
  return base;
}

/** RFC 6901 pointer → path segments. */
function pointer(path: unknown): string[] {
  if (typeof path !== "string" || (path !== "" && !path.startsWith("/"))) {
    throw new PatchError(`invalid JSON pointer ${JSON.stringify(path)}`);
  }
  return path === ""
    ? []
    : path
        .slice(1)
        .split("/")
        .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function parentOf(doc: unknown, segments: string[]): { parent: unknown; key: string } {
  let node = doc;
  for (const seg of segments.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(seg)] : isPlain(node) ? node[seg] : undefined;
    if (node === undefined) throw new PatchError(`path /${segments.join("/")} does not exist`);
  }
  return { parent: node, key: segments[segments.length - 1] ?? "" };
}

function read(doc: unknown, segments: string[]): unknown {
  if (segments.length === 0) return doc;
  const { parent, key } = parentOf(doc, segments);
  const value = Array.isArray(parent) ? parent[Number(key)] : isPlain(parent) ? parent[key] : undefined;
  if (value === undefined) throw new PatchError(`path /${segments.join("/")} does not exist`);
  return value;
}

function remove(doc: unknown, segments: string[]): unknown {
  read(doc, segments);
  const { parent, key } = parentOf(doc, segments);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete (parent as Plain)[key];
  return doc;
}

function add(doc: unknown, segments: string[], value: unknown): unknown {
  if (segments.length === 0) return value;
  const { parent, key } = parentOf(doc, segments);
  if (Array.isArray(parent)) {
    const index = key === "-" ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) {
      throw new PatchError(`array index ${key} out of range`);
    }
    parent.splice(index, 0, value);
  } else if (isPlain(parent)) parent[key] = value;
  else throw new PatchError(`path /${segments.join("/")} does not exist`);
  return doc;
}

function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError("a json patch must be an array of operations");
  let doc = structuredClone(target);
  for (const op of ops) {
    if (!isPlain(op)) throw new PatchError("a json patch operation must be an object");
    const path = pointer(op.path);
    switch (op.op) {
      case "add":
        doc = add(doc, path, structuredClone(op.value));
        break;
      case "remove":
        doc = remove(doc, path);
        break;
      case "replace":
        doc = add(remove(doc, path), path, structuredClone(op.value));
        break;
      case "move": {
        const from = pointer(op.from);
        const value = read(doc, from);
        doc = add(remove(doc, from), path, value);
        break;
      }
      case "copy":
        doc = add(doc, path, structuredClone(read(doc, pointer(op.from))));
        break;
      case "test":
        if (JSON.stringify(read(doc, path)) !== JSON.stringify(op.value)) {
          throw new PatchError(`test operation for path ${String(op.path)} failed`);
        }
        break;
      default:
        throw new PatchError(`unknown json patch operation ${JSON.stringify(op.op)}`);
    }
  }
  return doc;
}

export function isPatchType(type: string): type is PatchType {
  return type === "strategic" || type === "merge" || type === "json";
}

/** The patched copy of `target`; `patchText` is JSON. Throws PatchError or SyntaxError. */
export function applyPatch(target: unknown, patchText: string, type: PatchType): unknown {
  const patch: unknown = JSON.parse(patchText);
  if (type === "json") return jsonPatch(target, patch);
  if (type === "strategic" && !isPlain(patch))
    throw new PatchError("a strategic merge patch must be a JSON object");
  return mergePatch(target, patch, type === "strategic");
}
