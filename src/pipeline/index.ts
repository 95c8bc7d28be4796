/** The pipeline module's public surface. */
export { type CompiledPipeline, type CompiledStep, checkPipelines, compilePipelines } from "./compile.js";
export { parseCondition } from "./condition.js";
export { evaluate, type Scope, type Value } from "./evaluate.js";
export { runPipeline } from "./executor.js";
export { parseExpr } from "./expr.js";
export { NOOP_PIPELINE_OBSERVER, type PipelineObserver, type StepStatus } from "./observer.js";
export { type PipelineInfo, type PipelineJobRequest, PipelineRunner } from "./runner.js";
export { type PipelineConfig, type PipelinesConfig, pipelinesSchema } from "./spec.js";
export { compileTemplate, render } from "./template.js";
export type {
  PipelineDeps,
  PipelineEvent,
  PipelineResult,
  RunOptions,
  StepReport,
} from "./types.js";
