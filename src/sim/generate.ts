import type { BatchScheduler, SeqHooks } from "./batch.js";
import type { FaultPlan } from "./faults.js";
import { ChunkWriter, type FinishReason, responseMeta, usageOf } from "./format.js";
import { invalid, overloadedProblem } from "./problem.js";
import type { Run } from "./run.js";
import type { SimSettings } from "./settings.js";
import { completionFor } from "./text.js";
import type { GenerateRequest } from "./validate.js";

/** Runs one chat or completion request through the batch and writes its answer to the run. */
export function startGeneration(
  batch: BatchScheduler,
  settings: SimSettings,
  run: Run,
  req: GenerateRequest,
  plan: FaultPlan,
  stream: boolean,
): void {
  const promptCount = req.promptTokens.length;
  if (promptCount + (req.maxTokens ?? 1) > settings.maxModelLenTokens) {
    const asked = promptCount + (req.maxTokens ?? 1);
    const param = req.maxTokens === undefined ? "messages" : "max_tokens";
    const msg = `this model's maximum context length is ${settings.maxModelLenTokens} tokens; you asked for ${asked} (${promptCount} in the prompt)`;
    run.problem(invalid(msg, param, "context_length_exceeded"));
    return;
  }
  const completion = completionFor(
    req.promptTokens.join("\u0001"),
    req.seed ?? settings.seed,
    settings.defaultMaxTokens,
  );
  const outputTokens = req.maxTokens ?? completion.naturalLength;
  const reason: FinishReason = req.maxTokens === undefined ? "stop" : "length";
  const writer = new ChunkWriter(req.op, responseMeta(req.op, req.model));
  const resetAfter = typeof plan.reset === "number" ? plan.reset : undefined;
  const pieces: string[] = [];
  const hooks: SeqHooks = {
    onStart: () => {
      if (!stream) return;
      run.start();
      if (req.op === "chat") run.event(writer.role());
      if (resetAfter === 0) run.reset();
    },
    onToken: (index) => {
      const piece = completion.text.next();
      if (!stream) {
        pieces.push(piece);
        return;
      }
      run.event(writer.content(piece));
      if (resetAfter === index + 1) run.reset();
    },
    onFinish: () => {
      const usage = usageOf(promptCount, outputTokens);
      if (stream) {
        run.event(writer.finish(reason));
        if (req.includeUsage) run.event(writer.usage(usage));
        run.end();
        return;
      }
      const body = writer.complete(pieces.join(""), reason, usage);
      if (resetAfter !== undefined) run.reset(body.slice(0, Math.floor(body.length / 2)));
      else run.json(200, body, usage);
    },
  };
  const seq = batch.submit(
    {
      promptTokens: req.promptTokens,
      outputTokens,
      ttftMs: plan.ttftMs,
      itlMs: plan.itlMs,
      stallAfterTokens: typeof plan.hang === "number" ? plan.hang : undefined,
    },
    hooks,
  );
  if (seq) run.setStage(seq);
  else run.problem(overloadedProblem(req.model));
}
