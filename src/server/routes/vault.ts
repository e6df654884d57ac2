/**
 * `/api/vault`: status (public: it holds no secret), unseal (the passphrase is the credential, so
 * no principal is needed, but only from loopback and rate limited), seal and rotate (admins).
 */
import { Hono, type Context } from "hono";
import { unsealRequestSchema, type RotationWire, type VaultStatusWire } from "../../api/vault-client.js";
import { createLoginRateLimiter } from "../../auth/rate-limit.js";
import { isLoopbackHost } from "../../config/load.js";
import { AppError } from "../../errors.js";
import { ensurePlatformSecrets } from "../../platform/secrets.js";
import { rotateSecrets } from "../../platform/rotate.js";
import type { Vault } from "../../vault/types.js";
import type { AppEnv } from "../app-env.js";
import type { ServerDeps } from "../context.js";
import { readJsonBody } from "../middleware/body.js";
import { parseWire } from "../validate.js";

/** Wrong passphrases allowed per window before 429 (each costs an argon2id run of 64 MiB). */
const UNSEAL_ATTEMPTS = 5;
const UNSEAL_WINDOW_MS = 5 * 60_000;
/** The one limiter key: every caller is local, so the limit is on the vault, not on an address. */
const UNSEAL_KEY = "vault";

function statusWire(vault: Vault): VaultStatusWire {
  const status = vault.status();
  return { ...status, mode: status.mode ?? null };
}

function peerAddress(c: Context<AppEnv>): string | undefined {
  return c.env?.incoming?.socket.remoteAddress;
}

function isLoopbackPeer(address: string | undefined): boolean {
  if (address === undefined) return false;
  // An IPv4 peer on a dual-stack socket is reported as ::ffff:a.b.c.d.
  return isLoopbackHost(address.replace(/^::ffff:/i, ""));
}

function requireAdmin(c: Context<AppEnv>): void {
  const principal = c.get("principal");
  if (principal === undefined) {
    c.header("WWW-Authenticate", 'Bearer realm="aixcl"');
    throw new AppError("unauthorized", "unauthorized: API key or login required");
  }
  if (principal.role !== "admin" || !principal.scopes.includes("admin")) {
    throw new AppError("forbidden", "forbidden: admin rights required");
  }
}

export function vaultRoutes(deps: ServerDeps & { vault: Vault }): Hono<AppEnv> {
  const { vault, logger } = deps;
  const app = new Hono<AppEnv>();
  const limiter = createLoginRateLimiter({
    perAccount: UNSEAL_ATTEMPTS,
    perAddress: UNSEAL_ATTEMPTS,
    windowMs: UNSEAL_WINDOW_MS,
  });
  // One unseal at a time: each attempt holds 64 MiB for the KDF, so parallel attempts must queue.
  let unsealing: Promise<unknown> = Promise.resolve();

  app.get("/status", (c) => c.json(statusWire(vault)));

  app.post("/unseal", async (c) => {
    if (!isLoopbackPeer(peerAddress(c))) {
      throw new AppError("forbidden", "forbidden: the vault is unsealed from this machine only");
    }
    const { passphrase } = parseWire(unsealRequestSchema, await readJsonBody(c));
    const attempt = unsealing.then(async () => {
      if (!vault.status().sealed) return;
      limiter.check(UNSEAL_KEY, UNSEAL_KEY);
      try {
        await vault.unseal(passphrase);
      } catch (error) {
        if (error instanceof AppError && error.code === "unauthorized")
          limiter.recordFailure(UNSEAL_KEY, UNSEAL_KEY);
        throw error;
      }
      limiter.recordSuccess(UNSEAL_KEY);
      await ensurePlatformSecrets(vault, deps.db, logger);
    });
    unsealing = attempt.catch(() => undefined);
    await attempt;
    return c.json(statusWire(vault));
  });

  app.post("/seal", (c) => {
    requireAdmin(c);
    vault.seal();
    return c.json(statusWire(vault));
  });

  app.post("/rotate", async (c) => {
    requireAdmin(c);
    if (!deps.db) throw new AppError("not_found", "404 page not found");
    // Rotation ends every session, possibly this request's own: keep its answer from being cut.
    c.get("untrackRequest")?.();
    const principal = c.get("principal");
    const report = await rotateSecrets({
      vault,
      db: deps.db,
      logger,
      actor: {
        ...(principal?.userId !== undefined ? { id: principal.userId } : {}),
        name: principal?.username ?? principal?.via ?? "anonymous",
        ...(peerAddress(c) !== undefined ? { address: peerAddress(c) } : {}),
      },
    });
    const wire: RotationWire = {
      admin_user: report.adminUser ?? null,
      sessions_ended: report.sessionsEnded,
      database_password: report.databasePassword,
    };
    return c.json(wire);
  });

  return app;
}
