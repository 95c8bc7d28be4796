import { buildPost, RawHttpConnection, type StreamTrace } from "./raw-http.js";
import { nowUs, summarize } from "./stats.js";
import type { StreamProbeResult } from "./types.js";

export interface StreamProbeOptions {
  port: number;
  concurrency: number;
  seconds: number;
  itlMs: number;
  maxTokens: number;
}

interface Tally {
  ttft: number[];
  gaps: number[];
  streams: number;
  errors: number;
  contentEvents: number;
  contentReads: number;
  multiEventReads: number;
  maxEventsPerRead: number;
}

function streamRequest(opts: StreamProbeOptions): Buffer {
  const body = JSON.stringify({
    model: "bench",
    messages: [{ role: "user", content: "Stream a short answer for the bench." }],
    max_tokens: opts.maxTokens,
    stream: true,
  });
  return buildPost(opts.port, "/v1/chat/completions", body, { "x-sim-fault": `itl=${opts.itlMs}` });
}

/** Folds one finished stream into the tally: TTFT, events per read, gaps between content reads. */
function record(t: Tally, trace: StreamTrace): void {
  const content = trace.reads.filter((r) => r.contentEvents > 0);
  if (trace.status !== 200 || content.length === 0 || !trace.sawDone || trace.errorEvent !== undefined) {
    t.errors++;
    return;
  }
  t.streams++;
  t.ttft.push((content[0]?.atUs ?? trace.sentAtUs) - trace.sentAtUs);
  for (let i = 0; i < content.length; i++) {
    const read = content[i];
    if (read === undefined) continue;
    t.contentEvents += read.contentEvents;
    t.contentReads++;
    if (read.contentEvents > 1) t.multiEventReads++;
    t.maxEventsPerRead = Math.max(t.maxEventsPerRead, read.contentEvents);
    const prev = content[i - 1];
    if (prev !== undefined) t.gaps.push(read.atUs - prev.atUs);
  }
}

async function virtualUser(
  opts: StreamProbeOptions,
  request: Buffer,
  deadlineUs: number,
  t: Tally,
): Promise<void> {
  const conn = new RawHttpConnection(opts.port);
  try {
    await conn.exchange(request, 10_000); // warm-up: connection setup is not part of TTFT
    while (nowUs() < deadlineUs) {
      try {
        record(t, await conn.exchange(request, 10_000));
      } catch {
        t.errors++;
      }
    }
  } catch {
    t.errors++;
  } finally {
    conn.close();
  }
}

/** Closed-loop streaming at fixed concurrency: TTFT and whether content chunks arrive one per read. */
export async function runStreamProbe(opts: StreamProbeOptions): Promise<StreamProbeResult> {
  const t: Tally = {
    ttft: [],
    gaps: [],
    streams: 0,
    errors: 0,
    contentEvents: 0,
    contentReads: 0,
    multiEventReads: 0,
    maxEventsPerRead: 0,
  };
  const request = streamRequest(opts);
  const deadlineUs = nowUs() + opts.seconds * 1e6;
  await Promise.all(
    Array.from({ length: opts.concurrency }, () => virtualUser(opts, request, deadlineUs, t)),
  );
  return {
    concurrency: opts.concurrency,
    streams: t.streams,
    errors: t.errors,
    ttftUs: summarize(t.ttft),
    contentEvents: t.contentEvents,
    contentReads: t.contentReads,
    multiEventReads: t.multiEventReads,
    maxEventsPerRead: t.maxEventsPerRead,
    gapUs: summarize(t.gaps),
  };
}
