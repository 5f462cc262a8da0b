/**
 * calicoctl's multi-document split: a document ends where a line starts with `---` (the byte
 * sequence newline + `---`); the rest of that separator line is discarded. A `---` on the very
 * first line is left to the YAML parser, which reads it as a document start marker.
 */

export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

export function splitYAMLDocuments(text: string): string[] {
  const documents: string[] = [];
  let rest = text;
  for (;;) {
    const at = rest.indexOf("\n---");
    if (at < 0) break;
    documents.push(rest.slice(0, at));
    const lineEnd = rest.indexOf("\n", at + 4);
    rest = lineEnd < 0 ? "" : rest.slice(lineEnd + 1);
  }
  if (rest !== "") documents.push(rest);
  return documents;
}
