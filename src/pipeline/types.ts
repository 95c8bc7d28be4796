/** Types shared by the pipeline executor, its front doors (HTTP, jobs, gRPC) and its events. */
import type { Principal } from "../auth/principal.js";
import type { RequestContext } from "../core/context.js";
import type { GatewayError } from "../core/errors.js";
import type { Usage } from "../core/types.js";
import type { Gate } from "../policy/gate.js";
import type { Router } from "../routing/router.js";
import type { CompiledPipeline } from "./compile.js";
import type { Value } from "./evaluate.js";
import type { PipelineObserver, StepStatus } from "./observer.js";

/** How one step of a run went, as `?debug=true` shows it. */
export interface StepReport {
  readonly status: StepStatus;
  readonly model: string;
  readonly output: Value;
  readonly usage: Usage | null;
  /** Milliseconds from the run's start to the step's start. */
  readonly started_ms: number;
  readonly duration_ms: number;
  /** For `map` steps: how many items ran. */
  readonly items?: number;
  readonly error?: { readonly code: string; readonly message: string };
}

/** The answer of a run. */
export interface PipelineResult {
  readonly id: string;
  readonly object: "pipeline.run";
  readonly pipeline: string;
  readonly output: Value;
  /** Tokens of every step together. */
  readonly usage: Usage;
  readonly duration_ms: number;
  /** Only with `debug`: every step's output, timing and tokens. */
  readonly steps?: Readonly<Record<string, StepReport>>;
}

/** What a streaming run sends as it goes. */
export type PipelineEvent =
  | { readonly type: "step.started"; readonly step: string; readonly model: string }
  | { readonly type: "step.finished"; readonly step: string; readonly report: StepReport }
  | { readonly type: "token"; readonly step: string; readonly text: string };

/** What every run needs from the gateway. */
export interface PipelineDeps {
  readonly router: Router;
  readonly gate: Gate;
  readonly observer: PipelineObserver;
}

export interface RunOptions {
  readonly principal: Principal;
  /** The request (or job) the run belongs to: its deadline and its abort bound the run. */
  readonly ctx: RequestContext;
  /** The input, already validated (`PipelineRunner.validateInput`). */
  readonly input: Readonly<Record<string, Value>>;
  readonly debug?: boolean;
  /** Stream the tokens of the pipeline's stream step through `onEvent`. */
  readonly stream?: boolean;
  readonly onEvent?: (e: PipelineEvent) => void;
  /** Client headers passed on to every step's upstream call (`server.forwardHeaders`). */
  readonly forwardHeaders?: Record<string, string>;
  readonly priority?: string;
}

/** One run in progress, as its steps see it. */
export interface RunEnv {
  readonly pipeline: CompiledPipeline;
  readonly deps: PipelineDeps;
  readonly opts: RunOptions;
  readonly runCtx: RequestContext;
  /** `performance.now()` at the run's start. */
  readonly startedAt: number;
}

/** How a step ended, kept for later steps' templates and the result. */
export interface StepRecord {
  readonly status: StepStatus;
  readonly output: Value;
  readonly usage: Usage | undefined;
  readonly startedMs: number;
  readonly durationMs: number;
  readonly items?: number;
  readonly error?: GatewayError;
}
