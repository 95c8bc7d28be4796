import type { StreamProbeResult, TargetCheck, TargetResult } from "./types.js";

export interface Trio {
  direct: TargetResult;
  reference: TargetResult;
  gateway: TargetResult;
}

const ms = (us: number) => `${(us / 1000).toFixed(3)} ms`;

function addedLatency(trio: Trio): TargetCheck {
  const added = trio.gateway.c1.latencyUs.p50 - trio.direct.c1.latencyUs.p50;
  return {
    name: "gateway p50 − direct p50 at c1",
    measured: ms(added),
    limit: "≤ 0.300 ms",
    pass: added <= 300,
  };
}

function addedTtft(trio: Trio): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const c of ["streamC1", "streamC16"] as const) {
    const ttft = trio.gateway[c].ttftUs.p50 - trio.direct[c].ttftUs.p50;
    const label = c === "streamC1" ? "c1" : "c16";
    checks.push({
      name: `gateway TTFT p50 − direct TTFT p50 at ${label}`,
      measured: ms(ttft),
      limit: "≤ 1.000 ms",
      pass: ttft <= 1000,
    });
  }
  return checks;
}

function throughputAndCpu(trio: Trio): TargetCheck[] {
  const share = trio.gateway.c16.rps / trio.reference.c16.rps;
  const cpu = trio.gateway.cpu.cpuUsPerRequest / trio.reference.cpu.cpuUsPerRequest;
  return [
    {
      name: "gateway req/s ÷ reference req/s at c16",
      measured: `${(share * 100).toFixed(1)}%`,
      limit: "≥ 70%",
      pass: share >= 0.7,
    },
    {
      name: "gateway CPU/request ÷ reference CPU/request",
      measured: `${cpu.toFixed(2)}×`,
      limit: "≤ 1.40×",
      pass: cpu <= 1.4,
    },
  ];
}

/** Share of content events that did not get a read of their own (arrived together with another). */
export function batchedShare(p: StreamProbeResult): number {
  return p.contentEvents > 0 ? (p.contentEvents - p.contentReads) / p.contentEvents : 0;
}

/**
 * Batching, judged at c1 where no process is near saturation: the gateway may not group events into
 * reads more often than the reference proxy, a byte-for-byte pipe through the same extra hop, does
 * (+2 points for scheduler noise). A gateway that buffers groups nearly every event.
 */
function batching(trio: Trio): TargetCheck {
  const gw = batchedShare(trio.gateway.streamC1);
  const ref = batchedShare(trio.reference.streamC1);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return {
    name: "no batched chunks at c1 (events sharing a read; gateway max events/read)",
    measured: `${pct(gw)}; max ${trio.gateway.streamC1.maxEventsPerRead}`,
    limit: `≤ reference ${pct(ref)} + 2 pts`,
    pass: gw <= ref + 0.02 && trio.gateway.streamC1.streams > 0,
  };
}

export function buildChecks(trio: Trio): TargetCheck[] {
  const rss = trio.gateway.peakRssMb;
  return [
    addedLatency(trio),
    ...throughputAndCpu(trio),
    ...addedTtft(trio),
    batching(trio),
    { name: "gateway peak RSS", measured: `${rss.toFixed(1)} MB`, limit: "< 100 MB", pass: rss < 100 },
  ];
}
