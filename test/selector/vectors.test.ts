import { describe, expect, it } from "vitest";
import {
  isValidLabel,
  isValidSelector,
  normaliseSelector,
  parseSelector,
  prefixLabels,
  SelectorParseError,
  selectorError,
  uniqueId,
} from "../../src/selector/index.js";

function parseError(text: string): SelectorParseError {
  const err = selectorError(text);
  if (!err) throw new Error(`expected ${JSON.stringify(text)} to fail`);
  return err;
}

describe("canonical form", () => {
  const vectors: Array<[string, string]> = [
    ["", "all()"],
    ["a == 'b'", 'a == "b"'],
    ['a == "b"', 'a == "b"'],
    ["a == 'x\"y'", "a == 'x\"y'"],
    ["a=='b'&&c!='d'", '(a == "b" && c != "d")'],
    ["a == 'b' && c == 'd' && e == 'f'", '(a == "b" && c == "d" && e == "f")'],
    ["(a == 'b' && c == 'd') && e == 'f'", '((a == "b" && c == "d") && e == "f")'],
    ["a == 'b' || c == 'd' && e == 'f'", '(a == "b" || (c == "d" && e == "f"))'],
    ["!(a == 'b')", '!a == "b"'],
    ["!(a == 'b' || c == 'd')", '!(a == "b" || c == "d")'],
    ["!!has(a)", "has(a)"],
    ["! has( a )", "!has(a)"],
    ["a in {'z', 'x', 'z', 'y'}", 'a in {"x", "y", "z"}'],
    ["a notin {'x',}", 'a not in {"x"}'],
    ["a not in {}", "a not in {}"],
    ["a startswith 'x'", 'a starts with "x"'],
    ["a starts   with 'x'", 'a starts with "x"'],
    ["has(a) && !has(b) || c != 'd'", '((has(a) && !has(b)) || c != "d")'],
    ["x == 'a' && (y == 'b' || z == 'c')", '(x == "a" && (y == "b" || z == "c"))'],
    [
      "projectcalico.org/namespace == 'ns1' && k8s-app in {\"kube-dns\"}",
      '(projectcalico.org/namespace == "ns1" && k8s-app in {"kube-dns"})',
    ],
  ];
  it.each(vectors)("%j prints as %j", (input, canonical) => {
    expect(parseSelector(input).toString()).toBe(canonical);
    expect(parseSelector(canonical).toString()).toBe(canonical);
  });

  it("prints every operator form", () => {
    expect(parseSelector("a contains 'x' || a ends with 'y' || all() || global()").toString()).toBe(
      '(a contains "x" || a ends with "y" || all() || global())',
    );
    expect(parseSelector("a endswith'y'").toString()).toBe('a ends with "y"');
    expect(parseSelector("a\tin\t{'q'}").toString()).toBe('a in {"q"}');
  });

  it("sorts set values in UTF-8 byte order, not UTF-16 order", () => {
    // U+FF21 sorts before U+1F600 in UTF-16 code units but after it in bytes.
    expect(parseSelector("a in {'😀', 'Ａ', 'b'}").toString()).toBe('a in {"b", "Ａ", "😀"}');
  });

  it("quotes set members individually", () => {
    expect(parseSelector(`a in {'x"y', "z"}`).toString()).toBe(`a in {'x"y', "z"}`);
  });

  it("keeps Calico's tree for a negation inside parentheses", () => {
    // Only consecutive `!` tokens collapse; `!(!x)` is two nested negations, printed as such.
    expect(parseSelector("!(!a == 'b')").toString()).toBe('!!a == "b"');
    expect(parseSelector("!!!a == 'b'").toString()).toBe('!a == "b"');
  });

  it("hashes the canonical string (UniqueID)", () => {
    expect(parseSelector("").uniqueId()).toBe("s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug");
    expect(parseSelector("a == 'b'").uniqueId()).toBe("s:flMh0m0X_BowkAK_W3j3MgH8oQOsj3WxGDoXCQ");
    expect(parseSelector('a=="b"').uniqueId()).toBe("s:flMh0m0X_BowkAK_W3j3MgH8oQOsj3WxGDoXCQ");
    expect(parseSelector("a == 'b'").uniqueId()).toHaveLength(40);
    expect(uniqueId("s", "all()")).toBe("s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug");
  });
});

describe("parse errors", () => {
  const vectors: Array<[string, string, number]> = [
    ["all ( )", "expected == or != not: TokLParen()", 4],
    ["has (a)", "expected == or != not: TokLParen()", 4],
    ["a == b", "expected string", 5],
    ["a = 'b'", "expected ==", 2],
    ["a 'b'", "expected == or != not: TokStringLiteral(b)", 2],
    ["a == 'b", "unterminated string", 5],
    ["a == 'b'\n", "expected identifier", 8],
    ["has(a) == 'x'", "unexpected content at end of selector [TokEq() TokStringLiteral(x) TokEOF()]", 7],
    ["a in {'x' 'y'}", "expected }", 10],
    ["a in 'x'", "expected set literal", 5],
    ["a", "unexpected end of string looking for op", 1],
    ["a ==", "expected string", 4],
    ["a in", "expected set literal", 4],
    ["a in {,}", "expected }", 6],
    ["a in {'x'", "expected }", 9],
    ["(a == 'b'", "expected )", 9],
    ["(a)", "expected == or != not: TokRParen()", 2],
    ["&& a == 'b'", "unexpected token: TokAnd()", 0],
    ["a == 'b' &&", "unexpected token: TokEOF()", 11],
    ["!", "unexpected token: TokEOF()", 1],
    ["a == 'b')", "unexpected content at end of selector [TokRParen() TokEOF()]", 8],
    ["a & b", "expected &&", 2],
    ["a == 'b' | c", "expected ||", 9],
    ["a b", 'expected operator after label "a"', 2],
    ["a inx {}", 'expected operator after label "a"', 2],
    ["a starts", 'expected operator after label "a"', 2],
    ["has()", "expected identifier", 4],
    ["has(a", "no closing ')' after has(", 5],
    ["all(x)", "no closing ')' after all(", 4],
    ["global( x", "no closing ')' after global(", 8],
    ["a == 'b' && #", "expected identifier", 12],
  ];
  it.each(vectors)("%j fails with %j at %i", (input, reason, position) => {
    const err = parseError(input);
    expect(err).toBeInstanceOf(SelectorParseError);
    expect(err.reason).toBe(reason);
    expect(err.position).toBe(position);
    expect(err.message.startsWith(reason)).toBe(true);
    expect(err.message).toContain(`at position ${position}`);
    expect(() => parseSelector(input)).toThrow(SelectorParseError);
  });
});

describe("tokenizer edge cases", () => {
  it("accepts only space and tab as whitespace", () => {
    expect(isValidSelector(" \ta == 'b'\t ")).toBe(true);
    for (const ws of ["\n", "\r", "\v", "\f", "\u00a0"]) {
      expect(isValidSelector(`a == 'b'${ws}`)).toBe(false);
      expect(isValidSelector(`${ws}a == 'b'`)).toBe(false);
    }
    expect(parseError("a ==\n'b'").reason).toBe("expected identifier");
  });

  it("treats the empty or blank selector as all()", () => {
    expect(isValidSelector("")).toBe(true);
    expect(parseSelector(" \t ").toString()).toBe("all()");
  });

  it("needs has(, all( and global( written without a space", () => {
    expect(parseSelector("has(\ta\t)").toString()).toBe("has(a)");
    expect(parseSelector("all( )").toString()).toBe("all()");
    expect(parseSelector("global(\t)").toString()).toBe("global()");
    expect(isValidSelector("has (a)")).toBe(false);
    expect(isValidSelector("global ()")).toBe(false);
  });

  it("recognises operators only straight after a label", () => {
    expect(parseSelector("in == 'x'").toString()).toBe('in == "x"');
    expect(parseSelector("contains contains 'x'").toString()).toBe('contains contains "x"');
    expect(parseSelector("has == 'x'").toString()).toBe('has == "x"');
    expect(parseSelector("a notin{'x'}").toString()).toBe('a not in {"x"}');
    expect(parseSelector("a not \t in {'x'}").toString()).toBe('a not in {"x"}');
    expect(parseSelector("a contains'x'").toString()).toBe('a contains "x"');
    expect(parseSelector("a startswith'x'").toString()).toBe('a starts with "x"');
    expect(isValidSelector("a containsx 'x'")).toBe(false);
    expect(isValidSelector("a starts-with 'x'")).toBe(false);
  });

  it("recognises == and != by their first character anywhere", () => {
    expect(parseSelector("a!='b'").toString()).toBe('a != "b"');
    expect(parseSelector("a==''").toString()).toBe('a == ""');
    expect(parseError("a =! 'b'").reason).toBe("expected ==");
  });

  it("limits labels to 512 label characters", () => {
    const ok = "k".repeat(512);
    const long = "k".repeat(513);
    expect(parseSelector(`${ok} == 'x'`).toString()).toBe(`${ok} == "x"`);
    expect(parseSelector(`has(${ok})`).labelKeys()).toEqual(new Set([ok]));
    expect(parseError(`${long} == 'x'`).reason).toBe(`label too long: ${long}`);
    expect(parseError(`has(${long})`).reason).toBe(`label too long: ${long}`);
    expect(parseError(`has(${long})`).position).toBe(4);
    expect(isValidLabel(ok)).toBe(true);
    expect(isValidLabel(long)).toBe(false);
    expect(isValidLabel("a b")).toBe(false);
    expect(isValidLabel("")).toBe(false);
  });

  it("allows every label character and is case-sensitive", () => {
    const sel = parseSelector("Az09_./- == 'V'");
    expect(sel.toString()).toBe('Az09_./- == "V"');
    expect(sel.matches({ "Az09_./-": "V" })).toBe(true);
    expect(sel.matches({ "az09_./-": "V" })).toBe(false);
    expect(sel.matches({ "Az09_./-": "v" })).toBe(false);
  });

  it("takes string literals verbatim, with no escapes", () => {
    expect(parseSelector("a == 'x\\'").toString()).toBe('a == "x\\"');
    expect(parseSelector(`a == "it's"`).toString()).toBe(`a == "it's"`);
    expect(parseSelector("a == ' &&|| ()'").matches({ a: " &&|| ()" })).toBe(true);
  });
});

describe("evaluation", () => {
  const vectors: Array<[string, Record<string, string>, boolean]> = [
    ["a != 'b'", {}, true],
    ["a != 'b'", { a: "b" }, false],
    ["a != 'b'", { a: "c" }, true],
    ["a not in {'b'}", {}, true],
    ["a not in {'b'}", { a: "b" }, false],
    ["a == ''", {}, false],
    ["a == ''", { a: "" }, true],
    ["has(a)", { a: "" }, true],
    ["has(a)", { b: "a" }, false],
    ["a contains ''", { a: "zz" }, true],
    ["a contains ''", {}, false],
    ["a contains 'oo'", { a: "foo" }, true],
    ["!a == 'b'", {}, true],
    ["a starts with 'Fo'", { a: "foo" }, false],
    ["a starts with 'fo'", { a: "foo" }, true],
    ["a ends with 'oo'", { a: "foo" }, true],
    ["a ends with 'oo'", {}, false],
    ["a in {}", { a: "" }, false],
    ["a in {}", {}, false],
    ["a not in {}", {}, true],
    ["a not in {}", { a: "x" }, true],
    ["a in {'x', 'y'}", { a: "y" }, true],
    ["a in {'x', 'y'}", { a: "z" }, false],
    ["all()", {}, true],
    ["global()", { a: "b" }, true],
    ["", {}, true],
    ["a == 'b' && c == 'd'", { a: "b" }, false],
    ["a == 'b' || c == 'd'", { c: "d" }, true],
    ["!(a == 'b' || c == 'd')", { c: "e" }, true],
    ["has(constructor)", {}, false],
    ["toString == 'x'", {}, false],
    ["has(__proto__)", {}, false],
  ];
  it.each(vectors)("%j on %j is %s", (text, labels, expected) => {
    const sel = parseSelector(text);
    expect(sel.matches(labels)).toBe(expected);
    expect(sel.matches(new Map(Object.entries(labels)))).toBe(expected);
    expect(sel.evaluate({ get: (k) => (Object.hasOwn(labels, k) ? labels[k] : undefined) })).toBe(expected);
  });
});

describe("text helpers", () => {
  it("normalises by trimming and printing, keeping unparseable text trimmed", () => {
    expect(normaliseSelector("  a=='b'\n")).toBe('a == "b"');
    expect(normaliseSelector("\t")).toBe("all()");
    expect(normaliseSelector(" a == b \n")).toBe("a == b");
  });

  it("prefixes every label name", () => {
    expect(prefixLabels("role == 'db' && !has(x) || k in {'a'}", "pcns.")).toBe(
      '((pcns.role == "db" && !has(pcns.x)) || pcns.k in {"a"})',
    );
    expect(prefixLabels(parseSelector("all()"), "pcsa.")).toBe("all()");
    expect(prefixLabels("a contains 'x' && b not in {}", "p/")).toBe('(p/a contains "x" && p/b not in {})');
  });

  it("lists the label keys a selector reads", () => {
    expect([...parseSelector("a == 'x' && (has(b) || !c in {'y'}) && a != 'z'").labelKeys()]).toEqual([
      "a",
      "b",
      "c",
    ]);
    expect(parseSelector("all()").labelKeys().size).toBe(0);
  });

  it("compares selectors by canonical form", () => {
    expect(parseSelector("a=='b'").equals(parseSelector(' a == "b" '))).toBe(true);
    expect(parseSelector("a=='b'").equals(parseSelector("a=='c'"))).toBe(false);
  });
});
