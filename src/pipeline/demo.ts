import type { z } from "zod";
import type { pipelineSchema } from "./spec.js";

/**
 * The demo pipeline of the default config, on the simulated models: three branches run at once
 * (a small-model draft, its keywords, an embedding of the question), then a cascade — the large
 * model answers only when the small model's draft was cut off or came out short.
 */
export const DEMO_PIPELINE: z.input<typeof pipelineSchema> = {
  description:
    "Parallel branches and a small-to-large cascade on the simulated models: sim-large answers only when the sim-small draft was cut off or is shorter than min_draft_tokens.",
  inputs: {
    question: { type: "string", maxLength: 8_000, description: "The question to answer." },
    min_draft_tokens: {
      type: "integer",
      default: 64,
      minimum: 0,
      maximum: 100_000,
      description: "A draft shorter than this many tokens is escalated to sim-large.",
    },
  },
  steps: {
    draft: { model: "sim-small", system: "Answer briefly.", prompt: "{{ input.question }}" },
    keywords: {
      model: "sim-small",
      prompt: "List the keywords of: {{ input.question }}",
      request: { max_tokens: 8 },
    },
    embed: { model: "sim-embed", input: "{{ input.question }}" },
    escalate: {
      model: "sim-large",
      when: 'steps.draft.output.finish_reason == "length" or default(steps.draft.output.usage.completion_tokens, 0) < input.min_draft_tokens',
      system: "Improve the draft answer. Keywords: {{ steps.keywords.output.text }}",
      prompt: "Question: {{ input.question }}\nDraft: {{ steps.draft.output.text }}",
      request: { max_tokens: 96 },
      timeoutMs: 30_000,
    },
  },
  stream: ["draft", "escalate"],
  output: {
    answer: "{{ default(steps.escalate.output.text, steps.draft.output.text) }}",
    escalated: "{{ steps.escalate.status == 'succeeded' }}",
    keywords: "{{ steps.keywords.output.text }}",
    embedding_dimensions: "{{ length(steps.embed.output.embedding) }}",
  },
};
