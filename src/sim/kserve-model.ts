import type {
  InferRequest,
  InferResponse,
  InferTensor,
  ModelMetadata,
  TensorData,
} from "../backends/kserve-tensors.js";
import { SharedClock } from "./clock.js";
import { EmbedQueue } from "./embed-queue.js";
import type { SimEngine } from "./engine.js";
import { parseFaultHeader, planFaults } from "./faults.js";
import { fold32, mulberry32 } from "./tokenizer.js";

/**
 * A simulated tensor model served over KServe v2 (HTTP and gRPC): a classifier that takes
 * `input` FP32 [batch, dim] (any numeric type) or BYTES [batch] and answers
 *
 *   scores FP32 [batch, classes]: scores[i][j] = Σ x[i][d] over d with d mod classes = j
 *   label  INT64 [batch]:         the index of the largest score of row i (the first, on a tie)
 *
 * with x[i][d] the input rounded to float32; a BYTES element's features are
 * x[d] = Σ (byte at p) / 255 over the UTF-8 bytes at positions p with p mod dim = d.
 * A call costs `tensor.perCallMs` + `tensor.perItemMs` × batch; at most `tensor.maxConcurrentCalls`
 * run at once (the rest wait in order, up to `maxWaitingSeqs`). Faults as the OpenAI routes have them.
 */

/** How a tensor call ends: an answer, an error status, or a broken connection. */
export interface TensorSink {
  ok(res: InferResponse): void;
  fail(status: number, message: string, retryAfterSeconds?: number): void;
  reset(): void;
}

export interface TensorCall {
  req: InferRequest;
  /** The `x-sim-fault` header (or gRPC metadata), if any. */
  fault: string | undefined;
  attempt: number;
  signal: AbortSignal;
}

const VERSION = "1";

export class SimTensorModel {
  private readonly clock = new SharedClock();
  private readonly queue: EmbedQueue;
  private readonly random: () => number;

  constructor(
    readonly name: string,
    private readonly engine: SimEngine,
  ) {
    const t = engine.settings.tensor;
    this.queue = new EmbedQueue(
      {
        perCallMs: t.perCallMs,
        perItemMs: t.perItemMs,
        maxConcurrentCalls: t.maxConcurrentCalls,
        maxWaiting: engine.settings.maxWaitingSeqs,
      },
      this.clock,
    );
    this.random = mulberry32(fold32(engine.settings.seed) ^ 0x5bd1e995);
  }

  metadata(): ModelMetadata {
    const t = this.engine.settings.tensor;
    return {
      name: this.name,
      versions: [VERSION],
      platform: "switchyard_sim",
      inputs: [{ name: t.inputName, datatype: "FP32", shape: [-1, t.dim] }],
      outputs: [
        { name: "scores", datatype: "FP32", shape: [-1, t.classes] },
        { name: "label", datatype: "INT64", shape: [-1] },
      ],
    };
  }

  /** True when `version` (empty = any) is one this model serves. */
  hasVersion(version: string | undefined): boolean {
    return !version || version === VERSION;
  }

  /** Answers one call into `sink` (at once for errors, after the simulated cost otherwise). */
  infer(call: TensorCall, sink: TensorSink): void {
    const header = parseFaultHeader(call.fault);
    if (!header.ok) {
      sink.fail(400, header.message);
      return;
    }
    let rows: number[][];
    try {
      rows = this.features(call.req);
      this.checkOutputs(call.req);
    } catch (err) {
      sink.fail(400, (err as Error).message);
      return;
    }
    const plan = planFaults(this.engine.faults, header.value, this.random, call.attempt);
    let stage: { cancel(): void } | undefined;
    let done = false;
    const finish = () => {
      done = true;
      call.signal.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      stage?.cancel();
      finish();
    };
    call.signal.addEventListener("abort", onAbort, { once: true });
    const run = () => {
      if (done) return;
      if (plan.status !== undefined) {
        finish();
        const retry = plan.status === 429 || plan.status === 503 ? 1 : undefined;
        sink.fail(plan.status, `simulated failure: the sim was told to answer ${plan.status}`, retry);
        return;
      }
      if (plan.reset === "before") {
        finish();
        sink.reset();
        return;
      }
      if (plan.hang !== undefined) return;
      const job = this.queue.submit(rows.length, () => {
        if (done) return;
        finish();
        if (plan.reset !== undefined) sink.reset();
        else sink.ok(this.answer(call.req, rows));
      });
      if (!job) {
        finish();
        sink.fail(503, `model ${this.name} is overloaded: its waiting queue is full`, 1);
        return;
      }
      stage = job;
    };
    if (plan.delayMs > 0) {
      const handle = this.clock.at(this.clock.now() + plan.delayMs, { fire: run });
      stage = { cancel: () => this.clock.cancel(handle) };
    } else run();
  }

  close(): void {
    this.clock.close();
  }

  /** The feature rows of the request's input, or an error a client can act on. */
  private features(req: InferRequest): number[][] {
    const { inputName, dim } = this.engine.settings.tensor;
    const input = req.inputs.find((t) => t.name === inputName);
    if (!input) throw new Error(`model ${this.name} expects an input named '${inputName}'`);
    const extra = req.inputs.find((t) => t.name !== inputName);
    if (extra) throw new Error(`unexpected input '${extra.name}' for model ${this.name}`);
    if (input.datatype === "BYTES") return bytesRows(input, dim);
    if (input.datatype === "BOOL") throw new Error(`input '${inputName}' must be numeric or BYTES, not BOOL`);
    if (input.shape.length !== 2 || input.shape[1] !== dim)
      throw new Error(
        `input '${inputName}' must have shape [batch, ${dim}], got [${input.shape.join(", ")}]`,
      );
    const data = input.data as number[];
    const out: number[][] = [];
    for (let i = 0; i < input.shape[0]!; i++) out.push(data.slice(i * dim, (i + 1) * dim).map(Math.fround));
    return out;
  }

  private checkOutputs(req: InferRequest): void {
    for (const o of req.outputs ?? [])
      if (o.name !== "scores" && o.name !== "label")
        throw new Error(`model ${this.name} has no output '${o.name}' (it has scores, label)`);
  }

  private answer(req: InferRequest, rows: number[][]): InferResponse {
    const k = this.engine.settings.tensor.classes;
    const scores: number[] = [];
    const labels: number[] = [];
    for (const row of rows) {
      const s = classify(row, k);
      scores.push(...s);
      labels.push(argmax(s));
    }
    const all: InferTensor[] = [
      { name: "scores", datatype: "FP32", shape: [rows.length, k], data: scores },
      { name: "label", datatype: "INT64", shape: [rows.length], data: labels as TensorData },
    ];
    const wanted = req.outputs?.map((o) => o.name);
    const res: InferResponse = {
      model_name: this.name,
      model_version: VERSION,
      outputs: wanted ? all.filter((t) => wanted.includes(t.name)) : all,
    };
    if (req.id !== undefined) res.id = req.id;
    return res;
  }
}

/** Scores of one row: the sum of the features whose index is j modulo `classes`, as float32. */
export function classify(row: readonly number[], classes: number): number[] {
  const s = new Array<number>(classes).fill(0);
  for (let d = 0; d < row.length; d++) s[d % classes]! += row[d]!;
  return s.map(Math.fround);
}

function argmax(s: readonly number[]): number {
  let best = 0;
  for (let j = 1; j < s.length; j++) if (s[j]! > s[best]!) best = j;
  return best;
}

/** Features of text inputs: each UTF-8 byte / 255 added to feature (position mod dim). */
export function textFeatures(text: string, dim: number): number[] {
  const x = new Array<number>(dim).fill(0);
  const bytes = Buffer.from(text, "utf8");
  for (let p = 0; p < bytes.length; p++) x[p % dim]! += bytes[p]! / 255;
  return x.map(Math.fround);
}

function bytesRows(input: InferTensor, dim: number): number[][] {
  const ok = input.shape.length === 1 || (input.shape.length === 2 && input.shape[1] === 1);
  if (!ok)
    throw new Error(`a BYTES input must have shape [batch] or [batch, 1], got [${input.shape.join(", ")}]`);
  return (input.data as string[]).map((t) => textFeatures(t, dim));
}
