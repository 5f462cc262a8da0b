/**
 * `-f FILE|DIR|-`: every resource from a file, a directory (`*.yaml`, `*.yml`, `*.json`;
 * sub-directories with `-R`) or stdin, all read and parsed before anything is written.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { CliError } from "../io.js";
import { DocumentError, parseDocument } from "./parse.js";
import { MAX_DOCUMENT_BYTES, splitYAMLDocuments } from "./split.js";
import type { InputResource } from "./types.js";

export interface LoadOptions {
  filename: string;
  recursive: boolean;
  skipEmpty: boolean;
  readStdin(): Promise<string>;
}

const INPUT_EXTENSIONS = [".yaml", ".yml", ".json"];

function ioError(path: string, err: unknown): DocumentError {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code === "ENOENT" ? "no such file or directory" : (err as Error).message;
  return new DocumentError(`open ${path}: ${reason}`);
}

function parseText(text: string): InputResource[] {
  return splitYAMLDocuments(text).flatMap((doc) => {
    if (Buffer.byteLength(doc) > MAX_DOCUMENT_BYTES) {
      throw new DocumentError("a document is larger than the 10 MiB limit");
    }
    return parseDocument(doc);
  });
}

async function filesIn(dir: string, recursive: boolean): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) files.push(...(await filesIn(path, recursive)));
    } else if (INPUT_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) {
      files.push(path);
    }
  }
  return files;
}

async function loadFile(path: string, skipEmpty: boolean): Promise<InputResource[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw ioError(path, err);
  }
  const resources = parseText(text);
  if (resources.length === 0 && !skipEmpty) throw new CliError(`no resources specified in file ${path}`);
  return resources;
}

/**
 * Throws DocumentError when an input cannot be read or parsed, CliError when an input holds
 * no resources (unless `skipEmpty`).
 */
export async function loadInputs(opts: LoadOptions): Promise<InputResource[]> {
  if (opts.filename === "-") {
    const resources = parseText(await opts.readStdin());
    if (resources.length === 0 && !opts.skipEmpty) throw new CliError("no resources specified in file -");
    return resources;
  }
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(opts.filename)).isDirectory();
  } catch (err) {
    throw ioError(opts.filename, err);
  }
  if (!isDirectory) return loadFile(opts.filename, opts.skipEmpty);
  const resources: InputResource[] = [];
  for (const file of await filesIn(opts.filename, opts.recursive)) {
    resources.push(...(await loadFile(file, opts.skipEmpty)));
  }
  if (resources.length === 0 && !opts.skipEmpty) {
    throw new CliError(`no resources specified in directory ${opts.filename}`);
  }
  return resources;
}
