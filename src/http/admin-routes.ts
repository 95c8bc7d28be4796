import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { keyView, unconfiguredModelWarnings } from "../auth/key-view.js";
import { newKeyMaterial } from "../auth/keys.js";
import { ConfigError } from "../config/load.js";
import { GatewayError } from "../core/errors.js";
import type { Gate } from "../policy/gate.js";
import type { Router } from "../routing/router.js";
import type { Store } from "../store/types.js";

export interface AdminDeps {
  router: Router;
  gate: Gate;
  /** True when `auth.adminKey` is set; without one the admin API answers loopback clients only. */
  adminKeySet: boolean;
  store: Store | undefined;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

const createKeySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    models: z.array(z.string().min(1)).min(1).optional(),
    rpm: z.number().int().positive().optional(),
    tpm: z.number().int().positive().optional(),
    maxConcurrent: z.number().int().positive().optional(),
    budgetTokens: z.number().int().positive().optional(),
    budgetPeriod: z.enum(["day", "week", "month"]).optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

/** Admin guard: the admin key (constant-time compare), or a loopback client when no key is configured. */
function checkAdmin(request: FastifyRequest, deps: Pick<AdminDeps, "gate" | "adminKeySet">): void {
  if (!deps.adminKeySet) {
    if (LOOPBACK.has(request.socket.remoteAddress ?? "")) return;
    throw new GatewayError(
      "invalid_api_key",
      "The admin API needs auth.adminKey when called from another host.",
    );
  }
  if (!deps.gate.isAdmin(request.headers))
    throw new GatewayError("invalid_api_key", "Invalid or missing admin key.");
}

function keyStore(deps: AdminDeps): Store {
  if (!deps.store) {
    throw new GatewayError("not_found", "API keys are not in use: set auth.mode to keys (or keys,jwt).");
  }
  return deps.store;
}

function paramOf(path: readonly PropertyKey[]): string | null {
  return path.length > 0 ? path.map(String).join(".") : null;
}

/** `/admin/*`: live routing state and API key management. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.register(
    async (admin) => {
      admin.addHook("onRequest", async (request) => checkAdmin(request, deps));
      admin.get("/state", async () => ({ pools: deps.router.models().map((p) => p.snapshot()) }));
      admin.get("/keys", async () => {
        const now = Date.now();
        return { object: "list", data: (await keyStore(deps).keys.list()).map((r) => keyView(r, now)) };
      });
      admin.post("/keys", async (request, reply) => {
        const parsed = createKeySchema.safeParse(request.body);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new GatewayError("invalid_request", `Invalid key request: ${issue?.message}`, {
            param: paramOf(issue?.path ?? []),
          });
        }
        const b = parsed.data;
        const now = Date.now();
        const material = newKeyMaterial();
        const limits = {
          ...(b.rpm !== undefined && { rpm: b.rpm }),
          ...(b.tpm !== undefined && { tpm: b.tpm }),
          ...(b.maxConcurrent !== undefined && { maxConcurrent: b.maxConcurrent }),
          ...(b.budgetTokens !== undefined && {
            budgetTokens: b.budgetTokens,
            budgetPeriod: b.budgetPeriod ?? "month",
          }),
        };
        const expiresAt = b.expiresAt === undefined ? null : Date.parse(b.expiresAt);
        if (expiresAt !== null && expiresAt <= now) {
          // As `switchyard keys create --expires` does: a key born expired is a mistake, not a key.
          throw new GatewayError("invalid_request", `expiresAt ${b.expiresAt} is not in the future.`, {
            param: "expiresAt",
          });
        }
        const rec = await keyStore(deps).keys.create({
          ...material,
          name: b.name,
          allowedModels: b.models ?? null,
          limits,
          createdAt: now,
          expiresAt,
        });
        const warnings = unconfiguredModelWarnings(
          rec.allowedModels,
          deps.router.models().map((p) => p.name),
        );
        return reply
          .code(201)
          .send({ ...keyView(rec, now), key: material.secret, ...(warnings.length > 0 && { warnings }) });
      });
      admin.delete<{ Params: { id: string } }>("/keys/:id", async (request) => {
        const rec = await keyStore(deps).keys.revoke(request.params.id, Date.now());
        if (!rec)
          throw new GatewayError("not_found", `No key with id '${request.params.id}'.`, { param: "id" });
        return keyView(rec, Date.now());
      });
    },
    { prefix: "/admin" },
  );
}

export interface ReloadDeps extends Pick<AdminDeps, "gate" | "adminKeySet"> {
  /** Reloads the config from its file; rejects with ConfigError when the new config is refused. */
  reload(): Promise<{ models: string[]; restartRequired: string[] }>;
}

/** `POST /admin/reload` (same guard as the rest of `/admin`): 200 with what changed, 400 with the reason. */
export function registerReloadRoute(app: FastifyInstance, deps: ReloadDeps): void {
  app.register(
    async (admin) => {
      admin.addHook("onRequest", async (request) => checkAdmin(request, deps));
      admin.post("/reload", async () => {
        try {
          return { status: "reloaded", ...(await deps.reload()) };
        } catch (err) {
          if (err instanceof ConfigError) {
            throw new GatewayError("invalid_request", `The new config was refused: ${err.message}`);
          }
          throw err;
        }
      });
    },
    { prefix: "/admin" },
  );
}
