/**
 * undici's Pool and Agent, loaded from their own modules. undici's index loads the whole library —
 * fetch, WebSocket, EventSource, caches, mocks, interceptors — which costs a gateway ~3 MB of heap
 * and ~4 MB of resident memory that it never uses. What the index adds to every dispatcher, the
 * request API (`dispatcher.request`), is added here the same way.
 *
 * These paths are undici's own layout, not its public API, so package.json pins undici to one
 * version; test/unit/http-client.test.ts fails when the index gets loaded again.
 */
import api from "undici/lib/api/index.js";
import AgentClass from "undici/lib/dispatcher/agent.js";
import DispatcherClass from "undici/lib/dispatcher/dispatcher.js";
import PoolClass from "undici/lib/dispatcher/pool.js";

Object.assign(DispatcherClass.prototype, api);

export const Pool = PoolClass;
export type Pool = InstanceType<typeof PoolClass>;
export const Agent = AgentClass;
export type Agent = InstanceType<typeof AgentClass>;
