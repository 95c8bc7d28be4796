import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { GatewayError } from "../core/errors.js";
import type { Router } from "../routing/router.js";

export interface AdminDeps {
  router: Router;
  /** The admin key; without one, the admin API answers loopback clients only. */
  adminKey: string | undefined;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Admin guard: `Authorization: Bearer <admin key>` compared in constant time, or loopback when no key is set. */
export function checkAdmin(request: FastifyRequest, adminKey: string | undefined): void {
  if (adminKey === undefined) {
    if (LOOPBACK.has(request.socket.remoteAddress ?? "")) return;
    throw new GatewayError(
      "invalid_api_key",
      "The admin API needs auth.adminKey when called from another host.",
    );
  }
  const header = request.headers.authorization ?? "";
  const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
  if (!timingSafeEqual(sha256(presented), sha256(adminKey))) {
    throw new GatewayError("invalid_api_key", "Invalid or missing admin key.");
  }
}

/** `/admin/*`: live state of pools and endpoints. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.register(
    async (admin) => {
      admin.addHook("onRequest", async (request) => checkAdmin(request, deps.adminKey));
      admin.get("/state", async () => ({ pools: deps.router.models().map((p) => p.snapshot()) }));
    },
    { prefix: "/admin" },
  );
}
