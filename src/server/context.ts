import type { LocalToken } from "../auth/local-token.js";
import type { LoginRateLimiter } from "../auth/rate-limit.js";
import type { RevocationHub, RevocationMatch } from "../auth/revocation.js";
import type { Config } from "../config/schema.js";
import type { Engine } from "../engine/types.js";
import type { Inference } from "../engine/inference/types.js";
import type { LogTail } from "../lib/log-tail.js";
import type { Logger } from "../logger.js";
import type { MetricsSampler } from "../metrics/sampler.js";
import type { Metrics } from "../metrics/types.js";
import type { Puller } from "../models/pull/puller.js";
import type { ModelStore } from "../models/types.js";
import type { Database } from "../store/types.js";
import type { Vault } from "../vault/types.js";

/** The platform's identity machinery, built once by startPlatform (see server/start.ts). */
export interface AuthContext {
  /** Open requests by principal; revoking a credential cuts its streams. */
  hub: RevocationHub;
  /** Cuts the open requests matching `match` (e.g. KEYS on key revocation). Returns how many. */
  revokeRequests(match: RevocationMatch): number;
  /** Failed-login counters per account and per address. */
  loginLimiter: LoginRateLimiter;
  /** Session inactivity timeout, ms (config `auth.session_ttl`). */
  sessionTtlMs: number;
  /**
   * The key session ids are hashed with (the vault's `session.secret`); undefined without a
   * vault. Throws `vault_sealed` while the vault is sealed.
   */
  sessionSecret(): Promise<string | undefined>;
  /** The vault now holds `secret` as the session secret (a rotation through this server). */
  sessionSecretReplaced(secret: string): void;
  /** The local CLI token of this server (run/admin.token); absent when none was written. */
  localToken?: LocalToken;
}

/** Everything routes need; built once by server/create-server.ts (factories, no singletons). */
export interface ServerDeps {
  config: Readonly<Config>;
  engine: Engine;
  store: ModelStore;
  inference: Inference;
  metrics: Metrics;
  logger: Logger;
  /** Pulls models from registries (`POST /api/pull`); absent when the server was built without one. */
  puller?: Puller;
  /** aixcl's version, reported by /api/version. */
  version: string;
  /** The platform database; absent in profile `core` (inference only: no users, keys or chats). */
  db?: Database;
  /** Sessions, revocation and login limits; absent when the server was built without them. */
  auth?: AuthContext;
  /** The secrets vault (profiles bld/sys); sealed means anything needing a secret answers 503. */
  vault?: Vault;
  /** The dashboards' samples of `metrics` (`/api/admin/metrics/series`); absent when not sampled. */
  sampler?: MetricsSampler;
  /** The last log lines (`/api/admin/logs`); absent when the logger keeps none. */
  logTail?: LogTail;
}
