import { after, before, describe, test } from "node:test";
import { MemoryRateLimitStore } from "../../src/limits/memory.js";
import { RedisRateLimitStore } from "../../src/limits/redis.js";
import { REDIS_SERVER, type RedisProc, redisAvailable, startRedis } from "../helpers/redis.js";
import { conformance } from "./_conformance.js";

describe("RateLimitStore conformance: memory", () => {
  const store = new MemoryRateLimitStore();
  conformance("memory", () => store);
});

if (REDIS_SERVER) {
  describe("RateLimitStore conformance: redis", () => {
    let redis: RedisProc;
    let store: RedisRateLimitStore;
    before(async () => {
      redis = await startRedis();
      store = new RedisRateLimitStore({ url: redis.url, keyPrefix: "conf:", commandTimeoutMs: 1_000 });
      await store.ready();
    });
    after(async () => {
      await store.close();
      await redis.stop();
    });
    conformance("redis", () => store);
  });
} else {
  test("RateLimitStore conformance: redis", (t) => {
    redisAvailable(t);
  });
}
