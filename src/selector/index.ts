/**
 * Calico's label-selector language: parsing (with Calico's exact error texts), evaluation,
 * canonical form and hash, text helpers, and an incremental selector × labels index.
 */

export type { SelectorNode, SetOp, ValueOp } from "./ast.js";
export { compareUtf8 } from "./ast.js";
export type { LabelLookup, Predicate } from "./compile.js";
export { SelectorParseError } from "./errors.js";
export type { Gate, Prerequisite } from "./gates.js";
export { LabelIndex, type LabelSource, type MatchCallback } from "./label-index.js";
export { type Labels, parseSelector, Selector } from "./selector.js";
export { isValidSelector, normaliseSelector, prefixLabels, selectorError } from "./text.js";
export { isValidLabel, MAX_LABEL_LENGTH } from "./tokenizer.js";
export { uniqueId } from "./unique-id.js";
