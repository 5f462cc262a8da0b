/**
 * Splits selector text into tokens. The rules are Calico's, including the odd ones: only space
 * and tab count as whitespace, `has(`/`all(`/`global(` must touch their parenthesis, and words
 * such as `in` or `contains` are operators only straight after a label.
 */
import { SelectorParseError } from "./errors.js";

export type TokenKind =
  | "TokLabel"
  | "TokStringLiteral"
  | "TokLBrace"
  | "TokRBrace"
  | "TokComma"
  | "TokEq"
  | "TokNe"
  | "TokIn"
  | "TokNot"
  | "TokNotIn"
  | "TokContains"
  | "TokStartsWith"
  | "TokEndsWith"
  | "TokAll"
  | "TokHas"
  | "TokLParen"
  | "TokRParen"
  | "TokAnd"
  | "TokOr"
  | "TokGlobal"
  | "TokEOF";

export interface Token {
  kind: TokenKind;
  /** Label name, string contents, or "" for punctuation. */
  value: string;
  /** Offset of the token's first character in the input. */
  pos: number;
}

export const MAX_LABEL_LENGTH = 512;

/** Renders a token the way Calico's error messages do (Go's `Kind(value)`). */
export function formatToken(t: Token): string {
  return `${t.kind}(${t.value})`;
}

export function isLabelChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    (c >= 48 && c <= 57) || // 0-9
    c === 95 || // _
    c === 46 || // .
    c === 47 || // /
    c === 45 // -
  );
}

/** True when `text` is a label a selector can name (1–512 label characters). */
export function isValidLabel(text: string): boolean {
  if (text.length === 0 || text.length > MAX_LABEL_LENGTH) return false;
  for (let i = 0; i < text.length; i++) if (!isLabelChar(text.charCodeAt(i))) return false;
  return true;
}

const SPACE = 32;
const TAB = 9;

function skipSpace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== SPACE && c !== TAB) break;
    i++;
  }
  return i;
}

/** A word boundary is the end of input or any character that cannot continue a label. */
function atWordBoundary(text: string, i: number): boolean {
  return i >= text.length || !isLabelChar(text.charCodeAt(i));
}

/** Checked in this order, so `not in` wins over a label-looking `in`. */
const WORD_OPERATORS: ReadonlyArray<readonly [readonly string[], TokenKind]> = [
  [["contains"], "TokContains"],
  [["starts", "with"], "TokStartsWith"],
  [["ends", "with"], "TokEndsWith"],
  [["not", "in"], "TokNotIn"],
  [["in"], "TokIn"],
];

/** Returns the offset after the operator's last word, or -1 when `words` do not match at `i`. */
function matchWords(text: string, i: number, words: readonly string[]): number {
  let j = i;
  for (let w = 0; w < words.length; w++) {
    const word = words[w]!;
    if (!text.startsWith(word, j)) return -1;
    j += word.length;
    // Multi-word operators allow any run of space/tab between words, including none.
    if (w < words.length - 1) j = skipSpace(text, j);
  }
  return atWordBoundary(text, j) ? j : -1;
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const fail = (reason: string, pos: number): never => {
    throw new SelectorParseError(reason, pos, text);
  };
  const readLabel = (start: number): string => {
    let end = start;
    while (end < text.length && isLabelChar(text.charCodeAt(end))) end++;
    const label = text.slice(start, end);
    if (label.length > MAX_LABEL_LENGTH) fail(`label too long: ${label}`, start);
    if (label.length === 0) fail("expected identifier", start);
    return label;
  };
  // `fn(` followed by optional space and `)`; returns the offset after `)`.
  const readEmptyCall = (name: string, start: number): number => {
    const close = skipSpace(text, start + name.length + 1);
    if (text.charCodeAt(close) !== 41) fail(`no closing ')' after ${name}(`, close);
    return close + 1;
  };

  let i = skipSpace(text, 0);
  while (i < text.length) {
    const start = i;
    const push = (kind: TokenKind, value = ""): void => {
      tokens.push({ kind, value, pos: start });
    };
    const ch = text[i];
    const next = text[i + 1];
    switch (ch) {
      case "(":
        push("TokLParen");
        i++;
        break;
      case ")":
        push("TokRParen");
        i++;
        break;
      case "{":
        push("TokLBrace");
        i++;
        break;
      case "}":
        push("TokRBrace");
        i++;
        break;
      case ",":
        push("TokComma");
        i++;
        break;
      case '"':
      case "'": {
        // No escapes: the literal runs to the next identical quote.
        const close = text.indexOf(ch, i + 1);
        if (close < 0) fail("unterminated string", i);
        push("TokStringLiteral", text.slice(i + 1, close));
        i = close + 1;
        break;
      }
      case "=":
        if (next !== "=") fail("expected ==", i);
        push("TokEq");
        i += 2;
        break;
      case "!":
        if (next === "=") {
          push("TokNe");
          i += 2;
        } else {
          push("TokNot");
          i++;
        }
        break;
      case "&":
        if (next !== "&") fail("expected &&", i);
        push("TokAnd");
        i += 2;
        break;
      case "|":
        if (next !== "|") fail("expected ||", i);
        push("TokOr");
        i += 2;
        break;
      default: {
        const last = tokens[tokens.length - 1];
        if (last?.kind === "TokLabel") {
          let matched = false;
          for (const [words, kind] of WORD_OPERATORS) {
            const end = matchWords(text, i, words);
            if (end >= 0) {
              push(kind);
              i = end;
              matched = true;
              break;
            }
          }
          if (!matched) fail(`expected operator after label ${JSON.stringify(last.value)}`, i);
        } else if (text.startsWith("has(", i)) {
          const labelStart = skipSpace(text, i + 4);
          const label = readLabel(labelStart);
          const close = skipSpace(text, labelStart + label.length);
          if (text.charCodeAt(close) !== 41) fail("no closing ')' after has(", close);
          push("TokHas", label);
          i = close + 1;
        } else if (text.startsWith("all(", i)) {
          i = readEmptyCall("all", i);
          push("TokAll");
        } else if (text.startsWith("global(", i)) {
          i = readEmptyCall("global", i);
          push("TokGlobal");
        } else {
          const label = readLabel(i);
          push("TokLabel", label);
          i += label.length;
        }
      }
    }
    i = skipSpace(text, i);
  }
  tokens.push({ kind: "TokEOF", value: "", pos: text.length });
  return tokens;
}
