import type { Section } from "./args.js";

/** Shapes shared by the bench orchestrator, its child drivers and the report. Times are microseconds. */

export type TargetName = "direct" | "reference" | "gateway";

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  count: number;
}

export interface WrkErrors {
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
}

export interface WrkResult {
  connections: number;
  requests: number;
  durationUs: number;
  rps: number;
  errors: WrkErrors;
  latencyUs: Percentiles;
}

export interface OpenLoopResult {
  rate: number;
  seconds: number;
  sent: number;
  ok: number;
  errors: number;
  achievedRps: number;
  latencyUs: Percentiles;
  /** How late the driver itself sent requests against the schedule (its own timer granularity). */
  scheduleLagUs: Percentiles;
}

export interface StreamProbeResult {
  concurrency: number;
  streams: number;
  errors: number;
  ttftUs: Percentiles;
  /** Content events per stream that arrived (sum over streams). */
  contentEvents: number;
  /** Socket reads that carried at least one content event. */
  contentReads: number;
  /** Reads that carried more than one content event: batched chunks. */
  multiEventReads: number;
  maxEventsPerRead: number;
  /** Median gap between consecutive content reads of one stream. */
  gapUs: Percentiles;
}

export interface CpuResult {
  cpuUs: number;
  requests: number;
  cpuUsPerRequest: number;
}

/** CPU of the process under test over the c16 streaming probe (`streamC16`), per content event received. */
export interface StreamCpuResult {
  cpuUs: number;
  /** Each stream's own request included. */
  cpuUsPerEvent: number;
}

export interface TargetResult {
  name: TargetName;
  label: string;
  /** The process whose CPU and memory are reported for this target. */
  processUnderTest: string;
  c1: WrkResult;
  c16: WrkResult;
  cpu: CpuResult;
  streamC1: StreamProbeResult;
  streamC16: StreamProbeResult;
  streamCpu: StreamCpuResult;
  openLoop?: OpenLoopResult;
  peakRssMb: number;
}

export interface TargetCheck {
  name: string;
  measured: string;
  limit: string;
  pass: boolean;
}

/** One scenario's section of the report: a table of its targets, its checks, and raw figures for JSON. */
export interface ScenarioResult {
  section: Exclude<Section, "core">;
  title: string;
  /** Lines printed under the title (what was compared, how). */
  notes: string[];
  table: { header: string[]; rows: string[][] };
  checks: TargetCheck[];
  /** Everything measured, for latest.json. */
  data: Record<string, unknown>;
}

export interface BenchReport {
  startedAt: string;
  machine: {
    cpus: number;
    pinned: boolean;
    node: string;
    wrk: string;
    clockTicksPerSecond: number;
    /** Share of all CPUs already busy (other processes) in the second before the bench started. */
    backgroundCpuPct?: number;
  };
  settings: Record<string, number | string | boolean>;
  /** The sections this run measured (`core` = the three targets below). */
  sections: string[];
  /** The three-target comparison (empty when `core` was not run). */
  targets: TargetResult[];
  checks: TargetCheck[];
  /** The scenarios of issues 3, 5, 6, 7 that ran, by section name. */
  scenarios: Record<string, ScenarioResult>;
  /** Scenarios that could not run, with the reason. */
  failedScenarios?: Record<string, string>;
}
