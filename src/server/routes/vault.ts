/**
 * `/api/vault`: status (public: it holds no secret), unseal (the passphrase is the credential, so
 * no principal is needed, but only from loopback and throttled per caller without ever refusing
 * the right passphrase: src/auth/unseal-throttle.ts), seal and rotate (admins).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Hono, type Context } from "hono";
import { unsealRequestSchema, type RotationWire, type VaultStatusWire } from "../../api/vault-client.js";
import { createUnsealThrottle, type UnsealThrottleOptions } from "../../auth/unseal-throttle.js";
import { isLoopbackHost } from "../../lib/addresses.js";
import { AppError } from "../../errors.js";
import { ensurePlatformSecrets } from "../../platform/secrets.js";
import { rotateSecrets } from "../../platform/rotate.js";
import type { Vault } from "../../vault/types.js";
import type { AppEnv } from "../app-env.js";
import type { ServerDeps } from "../context.js";
import { readJsonBody } from "../middleware/body.js";
import { parseWire } from "../validate.js";

function statusWire(vault: Vault): VaultStatusWire {
  const status = vault.status();
  return { ...status, mode: status.mode ?? null };
}

function peerAddress(c: Context<AppEnv>): string | undefined {
  return c.env?.incoming?.socket.remoteAddress;
}

/**
 * Who is unsealing, for the throttle: the connection (address and port). Unseal answers loopback
 * peers only, where every process shares one address, so the port is what tells callers apart; a
 * caller that reconnects per attempt is slowed by the throttle's global part instead.
 */
function callerKey(c: Context<AppEnv>): string {
  const socket = c.env?.incoming?.socket;
  return `${socket?.remoteAddress ?? "?"}|${socket?.remotePort ?? "?"}`;
}

function isLoopbackPeer(address: string | undefined): boolean {
  if (address === undefined) return false;
  // An IPv4 peer on a dual-stack socket is reported as ::ffff:a.b.c.d; isLoopbackHost reads that too.
  return isLoopbackHost(address);
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

export function vaultRoutes(
  deps: ServerDeps & { vault: Vault },
  throttleOptions?: UnsealThrottleOptions,
): Hono<AppEnv> {
  const { vault, logger } = deps;
  const app = new Hono<AppEnv>();
  const throttle = createUnsealThrottle(throttleOptions);
  // One unseal at a time: each attempt holds 64 MiB for the KDF, so parallel attempts must queue.
  let unsealing: Promise<unknown> = Promise.resolve();

  app.get("/status", (c) => c.json(statusWire(vault)));

  app.post("/unseal", async (c) => {
    if (!isLoopbackPeer(peerAddress(c))) {
      throw new AppError("forbidden", "forbidden: the vault is unsealed from this machine only");
    }
    const { passphrase } = parseWire(unsealRequestSchema, await readJsonBody(c));
    if (!vault.sealed) return c.json(statusWire(vault));
    const caller = callerKey(c);
    // Waited out before joining the queue: a throttled caller slows itself, not the next one.
    await sleep(throttle.delayMs(caller));
    const attempt = unsealing.then(async () => {
      if (!vault.sealed) return;
      // Never refused before the check: the right passphrase must unseal even from a caller
      // that is throttled. The check itself is the KDF plus AES-GCM's authentication of the
      // wrapped key (src/vault/vault.ts), whose tag comparison is constant time.
      try {
        await vault.unseal(passphrase);
      } catch (error) {
        if (error instanceof AppError && error.code === "unauthorized") {
          const retryAfter = throttle.recordFailure(caller);
          if (retryAfter > 0) {
            throw new AppError("rate_limited", "too many wrong passphrases; try again later", { retryAfter });
          }
        }
        throw error;
      }
      throttle.recordSuccess();
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
      onSessionSecret: (secret) => deps.auth?.sessionSecretReplaced(secret),
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
