/**
 * Revocation of requests already in flight. Checking credentials on every request makes a
 * revoked session or key fail its NEXT request; a chat stream that started before the revoke
 * would otherwise keep generating for minutes. The authenticate middleware registers each
 * authenticated request here; revoking a credential destroys the matching responses, which
 * aborts their generation the same way a client disconnect does.
 */
import type { Principal } from "./types.js";
import type { Queryable } from "../store/types.js";

/** Which open requests a revocation ends. Every given field must match; at least one is required. */
export interface RevocationMatch {
  /** Requests acting as this user (sessions and the user's API keys). */
  userId?: string;
  /** Requests authenticated by this credential (session id hash or API key id). */
  credentialId?: string;
  /** Requests authenticated this way (e.g. every `session` when all sessions end). */
  via?: Principal["via"];
}

/** What a revocation does to a request: in the server, destroy its Node response. */
interface Cuttable {
  destroy(): void;
}

export interface RevocationHub {
  /** Tracks an in-flight request; call the returned function when it ends. */
  register(principal: Principal, target: Cuttable): () => void;
  /** Ends the open requests that match; returns how many were cut. */
  revokeRequests(match: RevocationMatch): number;
  /** Requests currently tracked (for tests and diagnostics). */
  readonly size: number;
}

function matches(principal: Principal, match: RevocationMatch): boolean {
  if (match.userId !== undefined && principal.userId !== match.userId) return false;
  if (match.credentialId !== undefined && principal.credentialId !== match.credentialId) return false;
  if (match.via !== undefined && principal.via !== match.via) return false;
  return true;
}

export function createRevocationHub(): RevocationHub {
  const open = new Map<Cuttable, Principal>();
  return {
    register(principal, target) {
      open.set(target, principal);
      return () => {
        open.delete(target);
      };
    },
    revokeRequests(match) {
      // An empty match would cut every request of every client: refuse it as a programming error.
      if (match.userId === undefined && match.credentialId === undefined && match.via === undefined) {
        throw new TypeError("revokeRequests needs userId, credentialId or via");
      }
      let cut = 0;
      for (const [target, principal] of [...open]) {
        if (!matches(principal, match)) continue;
        open.delete(target);
        target.destroy();
        cut += 1;
      }
      return cut;
    },
    get size() {
      return open.size;
    },
  };
}

/**
 * The hubs of the servers that use a database. Service functions with a fixed `(db, …)` signature
 * (`setPassword`, `revokeAllSessions`, called by the CLI, the vault and routes alike) reach the
 * running servers' open requests here; a CLI that opened the database itself has no hub, and no
 * open requests. Keyed by the database instance, so platforms on other databases never mix.
 */
const hubs = new WeakMap<object, Set<RevocationHub>>();

export function bindRevocationHub(db: Queryable, hub: RevocationHub): void {
  let bound = hubs.get(db);
  if (!bound) hubs.set(db, (bound = new Set()));
  bound.add(hub);
}

export function unbindRevocationHub(db: Queryable, hub: RevocationHub): void {
  hubs.get(db)?.delete(hub);
}

/** Cuts the open requests matching `match` on every server bound to `db`; returns how many. */
export function revokeOpenRequests(db: Queryable, match: RevocationMatch): number {
  let cut = 0;
  for (const hub of hubs.get(db) ?? []) cut += hub.revokeRequests(match);
  return cut;
}
