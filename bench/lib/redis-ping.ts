import { Redis } from "ioredis";
import { nowUs, summarize } from "./stats.js";
import type { Percentiles } from "./types.js";

/**
 * One Redis round trip as a Node client sees it: `count` sequential PINGs through ioredis (the client
 * the gateway's Redis limit store uses), after 200 unrecorded ones.
 */
export async function runRedisPing(port: number, count: number): Promise<{ rttUs: Percentiles }> {
  const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    for (let i = 0; i < 200; i++) await redis.ping();
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = nowUs();
      await redis.ping();
      samples.push(nowUs() - t0);
    }
    return { rttUs: summarize(samples) };
  } finally {
    redis.disconnect();
  }
}
