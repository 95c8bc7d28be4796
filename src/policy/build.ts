import { createAuthenticator } from "../auth/authenticate.js";
import type { Config } from "../config/schema.js";
import { createRateLimitStore } from "../limits/factory.js";
import type { Logger } from "../observability/logger.js";
import { createStore } from "../store/index.js";
import type { Store } from "../store/types.js";
import { UsageRecorder } from "../store/usage-recorder.js";
import { Gate, type GateObserver } from "./gate.js";

export interface PolicyParts {
  gate: Gate;
  /** The store, when the config needs one (keys); shared with the admin API. */
  store: Store | undefined;
  close(): Promise<void>;
}

/** Builds the gate and what it stands on: the store (only when keys are in use), the limit store, the usage recorder. */
export async function buildPolicy(
  config: Config,
  logger: Logger,
  observer?: GateObserver,
): Promise<PolicyParts> {
  const needsStore = config.auth.mode.includes("keys");
  const store = needsStore ? await createStore(config.store) : undefined;
  const usage = store
    ? new UsageRecorder(store.keys, {
        onError: (err) => logger.warn({ err }, "writing key usage failed; retrying"),
      })
    : undefined;
  const limitStore = await createRateLimitStore(config.limits.store, {
    onError: (err) => logger.warn({ err: err.message }, "rate-limit store connection error"),
  });
  const authenticator = createAuthenticator(config.auth, store ? { keys: store.keys } : {});
  const gate = new Gate({ authenticator, limits: config.limits, store: limitStore, usage, logger, observer });
  return {
    gate,
    store,
    async close() {
      await usage?.close();
      await limitStore.close();
      await store?.close();
    },
  };
}
