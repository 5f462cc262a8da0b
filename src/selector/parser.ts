/**
 * Recursive-descent parser over the token list. Precedence, the collapsing of leading `!`s and
 * which token each error names all follow Calico, because error texts and tree shape (and so
 * the canonical string) are observable.
 */
import { makeSet, type SelectorNode, type SetOp, type ValueOp } from "./ast.js";
import { SelectorParseError } from "./errors.js";
import { formatToken, type Token, type TokenKind, tokenize } from "./tokenizer.js";

const VALUE_OPS: Partial<Record<TokenKind, ValueOp>> = {
  TokEq: "eq",
  TokNe: "ne",
  TokContains: "contains",
  TokStartsWith: "startsWith",
  TokEndsWith: "endsWith",
};

const SET_OPS: Partial<Record<TokenKind, SetOp>> = { TokIn: "in", TokNotIn: "notIn" };

export function parseToNode(text: string): SelectorNode {
  const tokens = tokenize(text);
  // The token list always ends with TokEOF, so `at(i)` never runs past the end while parsing.
  const at = (i: number): Token => tokens[Math.min(i, tokens.length - 1)]!;
  const fail = (reason: string, token: Token): never => {
    throw new SelectorParseError(reason, token.pos, text);
  };
  let pos = 0;

  const parseOr = (): SelectorNode => {
    const operands = [parseAnd()];
    while (at(pos).kind === "TokOr") {
      pos++;
      operands.push(parseAnd());
    }
    return operands.length === 1 ? operands[0]! : { kind: "or", operands };
  };

  const parseAnd = (): SelectorNode => {
    const operands = [parseOperation()];
    while (at(pos).kind === "TokAnd") {
      pos++;
      operands.push(parseOperation());
    }
    return operands.length === 1 ? operands[0]! : { kind: "and", operands };
  };

  const parseComparison = (): SelectorNode => {
    const label = at(pos).value;
    // Calico checks for a complete label-operator-operand triple before looking at the operator.
    if (tokens.length - pos < 3) fail("unexpected end of string looking for op", at(pos + 1));
    const opToken = at(pos + 1);
    const operand = at(pos + 2);
    const valueOp = VALUE_OPS[opToken.kind];
    if (valueOp) {
      if (operand.kind !== "TokStringLiteral") fail("expected string", operand);
      pos += 3;
      return { kind: valueOp, label, value: operand.value };
    }
    const setOp = SET_OPS[opToken.kind];
    if (!setOp) return fail(`expected == or != not: ${formatToken(opToken)}`, opToken);
    if (operand.kind !== "TokLBrace") fail("expected set literal", operand);
    pos += 3;
    const values: string[] = [];
    while (at(pos).kind === "TokStringLiteral") {
      values.push(at(pos).value);
      pos++;
      if (at(pos).kind !== "TokComma") break;
      pos++;
    }
    if (at(pos).kind !== "TokRBrace") fail("expected }", at(pos));
    pos++;
    return { kind: setOp, label, values: makeSet(values) };
  };

  const parseOperation = (): SelectorNode => {
    let negated = false;
    while (at(pos).kind === "TokNot") {
      negated = !negated;
      pos++;
    }
    const token = at(pos);
    let node: SelectorNode;
    switch (token.kind) {
      case "TokHas":
        node = { kind: "has", label: token.value };
        pos++;
        break;
      case "TokAll":
        node = { kind: "all" };
        pos++;
        break;
      case "TokGlobal":
        node = { kind: "global" };
        pos++;
        break;
      case "TokLabel":
        node = parseComparison();
        break;
      case "TokLParen":
        pos++;
        node = parseOr();
        if (at(pos).kind !== "TokRParen") fail("expected )", at(pos));
        pos++;
        break;
      default:
        return fail(`unexpected token: ${formatToken(token)}`, token);
    }
    return negated ? { kind: "not", operand: node } : node;
  };

  if (at(0).kind === "TokEOF") return { kind: "all" };
  const root = parseOr();
  if (at(pos).kind !== "TokEOF") {
    const rest = tokens.slice(pos).map(formatToken).join(" ");
    fail(`unexpected content at end of selector [${rest}]`, at(pos));
  }
  return root;
}
