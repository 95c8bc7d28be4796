import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { holds, parseCondition } from "../../src/pipeline/condition.js";
import { EvalTypeError, evaluate, MissingValueError, type Value } from "../../src/pipeline/evaluate.js";
import { ExprSyntaxError, parseExpr } from "../../src/pipeline/expr.js";
import { compileTemplate, render, TemplateSyntaxError } from "../../src/pipeline/template.js";

const json = fc.jsonValue() as fc.Arbitrary<Value>;
const scopeWith = (x: Value) => ({ input: { x }, steps: {} });
const run = (tpl: unknown, scope: Record<string, Value>) => render(compileTemplate(tpl), scope);
const cond = (src: string, scope: Record<string, Value>) => holds(parseCondition(src), scope);

describe("templates", () => {
  test("a string that is one expression keeps the value's type", () => {
    fc.assert(
      fc.property(json, (x) => {
        assert.deepEqual(run("{{ input.x }}", scopeWith(x)), x);
        assert.deepEqual(run({ a: ["{{input.x}}", 1] }, scopeWith(x)), { a: [x, 1] });
      }),
    );
  });

  test("text around expressions: strings inserted as they are, other values as JSON", () => {
    fc.assert(
      fc.property(fc.string(), json, (s, x) => {
        const scope = { input: { s, x } };
        assert.equal(
          run("<{{ input.s }}|{{ input.x }}>", scope),
          `<${s}|${typeof x === "string" ? x : JSON.stringify(x)}>`,
        );
      }),
    );
  });

  test("json, length and join agree with JavaScript", () => {
    fc.assert(
      fc.property(fc.array(fc.string()), (arr) => {
        const scope = { input: { arr } };
        assert.equal(run("{{ length(input.arr) }}", scope), arr.length);
        assert.equal(run("{{ input.arr | length }}", scope), arr.length);
        assert.equal(run('{{ input.arr | join("; ") }}', scope), arr.join("; "));
        assert.deepEqual(JSON.parse(run("{{ input.arr | json }}", scope) as string), arr);
      }),
    );
  });

  test("paths: fields, indexes, quoted keys; a missing one is an error that default() turns into its fallback", () => {
    const scope = { steps: { a: { output: { text: "hi", list: [1, 2, 3], "odd key": true } } } };
    assert.equal(run("{{ steps.a.output.list[2] }}", scope), 3);
    assert.equal(run('{{ steps.a.output["odd key"] }}', scope), true);
    assert.equal(run("{{ steps.a.output.text | upper }}", scope), "HI");
    assert.throws(
      () => run("{{ steps.a.output.json.label }}", scope),
      (e: unknown) => {
        assert.ok(e instanceof MissingValueError);
        assert.equal(e.path, "steps.a.output.json");
        return true;
      },
    );
    assert.equal(run('{{ default(steps.a.output.json.label, "none") }}', scope), "none");
    assert.equal(run("{{ steps.a.output.list | last }}", scope), 3);
    assert.equal(run("{{ default(null, steps.a.output.text) }}", scope), "hi");
  });

  test("nothing reaches JavaScript's object machinery", () => {
    const scope = { input: { s: "x", o: {} } };
    for (const path of [
      "input.constructor",
      "input.o.__proto__",
      'input["__proto__"]',
      "input.s.length",
      "input.o.toString",
    ]) {
      assert.throws(() => run(`{{ ${path} }}`, scope), MissingValueError, path);
    }
  });

  test("wrong types are clear errors", () => {
    assert.throws(
      () => run("{{ join(input.s) }}", { input: { s: "x" } }),
      /'join' needs an array, got string/,
    );
    assert.throws(() => run("{{ upper(input.n) }}", { input: { n: 1 } }), EvalTypeError);
  });

  test('"{{" can be written as a literal, and "}}" inside a string does not end an expression', () => {
    assert.equal(run('{{ "{{" }} x }}', {}), "{{ x }}");
    assert.equal(run('{{ "a}}b" }}', {}), "a}}b");
  });

  test("syntax errors name the part and the offset", () => {
    assert.throws(
      () => compileTemplate({ m: ["ok", "{{ input.x "] }),
      (e: unknown) => {
        assert.ok(e instanceof TemplateSyntaxError);
        assert.deepEqual(e.path, ["m", 1]);
        assert.match(e.message, /no closing '}}'/);
        return true;
      },
    );
    assert.throws(() => compileTemplate("{{ input.x | nope }}"), /unknown function 'nope'/);
    assert.throws(() => compileTemplate("{{ length(a, b) }}"), /'length' takes 1 argument\(s\), got 2/);
  });

  test("the parser never throws anything but a syntax error, and never hangs", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (src) => {
        try {
          parseExpr(src);
        } catch (e) {
          assert.ok(e instanceof ExprSyntaxError, String(e));
        }
      }),
      { numRuns: 2000 },
    );
    assert.throws(() => parseExpr("not ".repeat(100) + "true"), /nested too deeply/);
    assert.throws(() => parseExpr("x".repeat(3000)), /longer than/);
  });
});

describe("conditions", () => {
  test("comparisons of numbers and strings agree with JavaScript", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.double({ noNaN: true }), fc.double({ noNaN: true })),
          fc.tuple(fc.string(), fc.string()),
        ),
        ([a, b]) => {
          const scope = { input: { a, b } } as Record<string, Value>;
          assert.equal(cond("input.a < input.b", scope), a < b);
          assert.equal(cond("input.a >= input.b", scope), a >= b);
          assert.equal(cond("input.a == input.b", scope), a === b);
        },
      ),
    );
  });

  test("and / or / not follow boolean logic, with or weaker than and", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.boolean(), (p, q, r) => {
        const scope = { input: { p, q, r } };
        assert.equal(cond("input.p or input.q and not input.r", scope), p || (q && !r));
        assert.equal(cond("not (input.p or input.q)", scope), !(p || q));
      }),
    );
  });

  test("contains, length, truthiness and the {{ }} form", () => {
    const scope = {
      steps: { s: { output: { text: "I cannot help with that", label: "spam", list: ["a", "b"] } } },
    };
    assert.equal(cond('lower(steps.s.output.text) contains "cannot"', scope), true);
    assert.equal(cond('steps.s.output.list contains "c"', scope), false);
    assert.equal(cond("length(steps.s.output.text) > 10", scope), true);
    assert.equal(cond('{{ steps.s.output.label != "spam" }}', scope), false);
    assert.equal(cond("steps.s.output.list", scope), true);
    assert.equal(cond('""', scope), false);
    assert.equal(cond('number("0.25") < 0.5', scope), true);
  });

  test("comparing different types is an error, not a silent false", () => {
    assert.throws(() => cond('input.n < "3"', { input: { n: 2 } }), /cannot compare number < string/);
    assert.throws(() => evaluate(parseExpr("input.x > 1"), { input: {} }), MissingValueError);
  });
});
