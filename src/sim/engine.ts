import type { Operation } from "../core/types.js";
import { BatchScheduler } from "./batch.js";
import { SharedClock } from "./clock.js";
import { EmbedQueue } from "./embed-queue.js";
import { type FaultPlan, parseFaultHeader, planFaults, type RuntimeFaults } from "./faults.js";
import { embeddingList, usageOf } from "./format.js";
import { startGeneration } from "./generate.js";
import { PrefixCache } from "./prefix-cache.js";
import { injectedProblem, invalid, overloadedProblem, type SimProblem } from "./problem.js";
import { Run, type SimSink } from "./run.js";
import type { SimSettings } from "./settings.js";
import { fold32, mulberry32 } from "./tokenizer.js";
import { type EmbedRequest, isProblem, parseSimRequest, type SimRequest } from "./validate.js";

export type { SimSink } from "./run.js";

/** One request handed to an engine. */
export interface SimCall {
  op: Operation;
  /** The parsed JSON body. */
  body: unknown;
  /** Answer as an SSE stream rather than one JSON body. */
  stream: boolean;
  /** The `x-sim-fault` header, if any. */
  fault: string | undefined;
  /** Which attempt with the same request id this is (1-based; 1 when there is no id). For `seq`. */
  attempt?: number;
  /** Aborting stops all work of the request at once; the sink is not called afterwards. */
  signal: AbortSignal;
}

/** Live numbers of one engine (for metrics). */
export interface SimEngineStats {
  runningSeqs: number;
  waitingSeqs: number;
  prefixCacheQueriedTokens: number;
  prefixCacheHitTokens: number;
  promptTokens: number;
  completionTokens: number;
  embeddingRunningCalls: number;
  embeddingWaitingCalls: number;
  embeddingItems: number;
}

const OP_NAMES: Record<Operation, string> = {
  chat: "chat completions",
  completion: "completions",
  embedding: "embeddings",
  infer: "tensor inference",
};

/** A simulated model: a continuous-batching decoder or an embedding encoder, with fault injection. */
export class SimEngine {
  readonly settings: SimSettings;
  private readonly clock = new SharedClock();
  private readonly cache: PrefixCache | undefined;
  private readonly batch: BatchScheduler;
  private readonly encoder: EmbedQueue;
  private readonly random: () => number;
  private readonly active = new Set<Run>();
  private runtimeFaults: RuntimeFaults | undefined;

  constructor(settings: SimSettings) {
    this.settings = settings;
    const pc = settings.prefixCache;
    this.cache = pc.enabled ? new PrefixCache(pc.blockTokens, pc.maxBlocks) : undefined;
    this.batch = new BatchScheduler(settings, this.clock, this.cache);
    this.encoder = new EmbedQueue({ ...settings.embedding, maxWaiting: settings.maxWaitingSeqs }, this.clock);
    this.random = mulberry32(fold32(settings.seed) ^ 0x9e3779b9);
  }

  /** Answers one request into `sink` (synchronously for errors, later for everything else). */
  handle(call: SimCall, sink: SimSink): void {
    if (call.signal.aborted) return;
    const run = new Run(sink, call.signal, this.active);
    const fault = parseFaultHeader(call.fault);
    if (!fault.ok) {
      run.problem(invalid(fault.message, null, "invalid_sim_fault"));
      return;
    }
    const req = parseSimRequest(call.op, call.body, this.settings.embedding.dimensions);
    const problem = isProblem(req) ? req : this.refuse(req, call.stream);
    if (problem) {
      run.problem(problem);
      return;
    }
    const plan = planFaults(this.faults, fault.value, this.random, call.attempt);
    run.after(this.clock, plan.delayMs, () => this.proceed(run, req as SimRequest, plan, call.stream));
  }

  /** The faults in force: those set at run time, else the settings' `faults`. */
  get faults(): RuntimeFaults {
    return this.runtimeFaults ?? this.settings.faults;
  }

  /** True while faults set at run time replace the settings' ones. */
  get faultsOverridden(): boolean {
    return this.runtimeFaults !== undefined;
  }

  /** Replaces the faults for requests from now on; `undefined` restores the settings' `faults`. */
  setFaults(faults: RuntimeFaults | undefined): void {
    this.runtimeFaults = faults === undefined ? undefined : Object.freeze({ ...faults });
  }

  stats(): SimEngineStats {
    return {
      runningSeqs: this.batch.runningCount,
      waitingSeqs: this.batch.waitingSeqs,
      prefixCacheQueriedTokens: this.cache?.queriedTokens ?? 0,
      prefixCacheHitTokens: this.cache?.hitTokens ?? 0,
      promptTokens: this.batch.promptTokens,
      completionTokens: this.batch.completionTokens,
      embeddingRunningCalls: this.encoder.running,
      embeddingWaitingCalls: this.encoder.queued,
      embeddingItems: this.encoder.items,
    };
  }

  /** Breaks every request in flight (as a dying server would) and stops the clock. */
  close(): void {
    for (const run of [...this.active]) run.reset();
    this.clock.close();
  }

  private refuse(req: SimRequest, stream: boolean): SimProblem | undefined {
    const wants = req.op === "embedding" ? "embedding" : "chat";
    if (wants !== this.settings.type) {
      const msg = `model ${req.model} is a ${this.settings.type} model and does not serve ${OP_NAMES[req.op]}`;
      return invalid(msg, "model", "model_wrong_type");
    }
    if (stream && req.op === "embedding")
      return invalid("embeddings cannot be streamed", "stream", "unsupported_value");
    return undefined;
  }

  private proceed(run: Run, req: SimRequest, plan: FaultPlan, stream: boolean): void {
    run.setStage(undefined);
    if (plan.status !== undefined) run.problem(injectedProblem(plan.status));
    else if (plan.reset === "before") run.reset();
    else if (plan.hang === "before") return;
    else if (req.op === "embedding") this.embed(run, req, plan);
    else startGeneration(this.batch, this.settings, run, req, plan, stream);
  }

  private embed(run: Run, req: EmbedRequest, plan: FaultPlan): void {
    const job = this.encoder.submit(req.inputs.length, () => {
      if (plan.hang !== undefined) return;
      const dims = req.dimensions ?? this.settings.embedding.dimensions;
      const body = embeddingList(req.model, req.inputs, dims, req.encoding, req.promptTokens);
      if (plan.reset !== undefined) run.reset(body.slice(0, Math.floor(body.length / 2)));
      else run.json(200, body, usageOf(req.promptTokens, 0));
    });
    if (job) run.setStage(job);
    else run.problem(overloadedProblem(req.model));
  }
}
