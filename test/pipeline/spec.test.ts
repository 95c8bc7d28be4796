import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ConfigError, defaultConfigInput, loadConfigFile, parseConfig } from "../../src/config/load.js";

/** The default models plus one pipeline `p` with the given steps (and inputs). */
function withPipeline(steps: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const base = defaultConfigInput();
  return { ...base, pipelines: { p: { inputs: { q: { type: "string" } }, steps, ...extra } } };
}

function issuesOf(input: unknown): readonly string[] {
  try {
    parseConfig(input);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues;
  }
  assert.fail("the config was accepted");
}

const chat = (prompt: string, more: Record<string, unknown> = {}) => ({
  model: "sim-small",
  prompt,
  ...more,
});

describe("pipeline config: load-time errors name the pipeline, the step and the problem", () => {
  test("the default config's demo pipeline loads", () => {
    const cfg = parseConfig(defaultConfigInput());
    assert.ok(cfg.pipelines["triage-answer"]);
  });

  test("examples/pipelines.yaml loads, with the dependencies its templates imply", () => {
    const cfg = loadConfigFile(join(import.meta.dirname, "..", "..", "examples", "pipelines.yaml"), {});
    assert.deepEqual(Object.keys(cfg.pipelines), ["cascade", "rag", "triage"]);
  });

  test("a cycle, through templates or needs", () => {
    assert.deepEqual(
      issuesOf(
        withPipeline({
          a: chat("{{ steps.c.output.text }}"),
          b: chat("{{ steps.a.output.text }}"),
          c: chat("x", { needs: ["b"] }),
        }),
      ),
      ["pipelines.p.steps: cycle between steps: a → b → c → a"],
    );
  });

  test("an unknown step in a template, in needs, in when and in the output", () => {
    assert.deepEqual(
      issuesOf(
        withPipeline(
          {
            a: chat("{{ steps.nope.output.text }}", {
              needs: ["ghost"],
              when: "steps.zz.status == 'succeeded'",
            }),
          },
          { output: "{{ steps.other.output }}" },
        ),
      ),
      [
        "pipelines.p.steps.a.needs[0]: unknown step 'ghost'",
        "pipelines.p.steps.a.prompt: unknown step 'nope' (in 'steps.nope.output.text')",
        "pipelines.p.steps.a.when: unknown step 'zz' (in 'steps.zz.status == 'succeeded'')",
        "pipelines.p.output: unknown step 'other' (in 'steps.other.output')",
      ],
    );
  });

  test("an unknown model, and a model of the wrong type", () => {
    assert.deepEqual(
      issuesOf(
        withPipeline({
          a: { model: "gpt-9", prompt: "x" },
          b: { model: "sim-embed", kind: "chat", prompt: "x" },
        }),
      ),
      [
        "pipelines.p.steps.a.model: unknown model 'gpt-9'",
        "pipelines.p.steps.b.kind: 'sim-embed' is an embedding model and does not serve chat",
      ],
    );
  });

  test("a bad template and a bad condition, with the offending part", () => {
    assert.deepEqual(
      issuesOf(
        withPipeline({
          a: chat("ok", { request: { messages_extra: ["{{ input.q "] }, when: "input.q ==" }),
          b: chat("{{ input.q | shout }}"),
        }),
      ),
      [
        "pipelines.p.steps.a.request.messages_extra[0]: bad template: '{{' at offset 0 has no closing '}}'",
        "pipelines.p.steps.a.when: bad condition: expected a value, a path or a function, found the end (offset 10)",
        "pipelines.p.steps.b.prompt: bad template: in '{{ input.q | shout }}': unknown function 'shout' (offset 11)",
      ],
    );
  });

  test("references to undeclared inputs, unknown output fields, and item outside a map", () => {
    assert.deepEqual(
      issuesOf(
        withPipeline({
          a: chat("{{ input.question }}"),
          b: chat("{{ steps.a.output.txt }} {{ item }}"),
          c: { model: "sim-embed", input: "{{ steps.a.text }}" },
        }),
      ),
      [
        "pipelines.p.steps.a.prompt: unknown input 'question': declare it under inputs (in 'input.question')",
        "pipelines.p.steps.b.prompt: 'steps.a.output.txt': the output of step 'a' has text, finish_reason, json, message, usage (in 'steps.a.output.txt')",
        "pipelines.p.steps.b.prompt: 'item' exists only in the request of a step with 'map' (in 'item')",
        "pipelines.p.steps.c.input: 'steps.a.text': a step has output, status, error, usage (in 'steps.a.text')",
      ],
    );
  });

  test("request fields the pipeline owns, headers outside server.forwardHeaders, a stream step that cannot stream", () => {
    assert.deepEqual(
      issuesOf(
        withPipeline(
          {
            a: chat("x", { request: { stream: true }, headers: { authorization: "Bearer x" } }),
            e: { model: "sim-embed", input: "{{ steps.a.output.text }}" },
          },
          { stream: "e" },
        ),
      ),
      [
        "pipelines.p.steps.a.headers.authorization: 'authorization' is not in server.forwardHeaders",
        "pipelines.p.steps.a.request.stream: 'stream' is set by the pipeline, not in 'request'",
        "pipelines.p.stream: step 'e' does not stream tokens (only chat and completion steps without map do)",
      ],
    );
  });

  test("input bounds: only on numbers, never crossed, and the default inside them", () => {
    const cfg = withPipeline({ a: chat("{{ input.n }}") });
    (cfg.pipelines.p as Record<string, unknown>).inputs = {
      n: { type: "integer", minimum: 5, maximum: 1 },
      s: { type: "string", minimum: 1 },
      d: { type: "number", minimum: 0, default: -1 },
      ok: { type: "number", minimum: -1.5, maximum: 2, default: 0 },
    };
    assert.deepEqual(issuesOf(cfg), [
      "pipelines.p.inputs.n: minimum 5 is above maximum 1",
      "pipelines.p.inputs.s: minimum and maximum apply to number and integer inputs, not string",
      "pipelines.p.inputs.d.default: the default does not fit type number: Too small: expected number to be >=0",
    ]);
  });

  test("an input default that does not fit its type", () => {
    const cfg = withPipeline({ a: chat("{{ input.n }}") });
    (cfg.pipelines.p as Record<string, unknown>).inputs = { n: { type: "integer", default: "ten" } };
    assert.deepEqual(issuesOf(cfg), [
      "pipelines.p.inputs.n.default: the default does not fit type integer: Invalid input: expected number, received string",
    ]);
  });
});
