/** Who a request acts as, resolved by the auth middleware from a session, an API key or a token. */
import type { Role, Scope } from "../store/roles.js";

export interface Principal {
  /** The user acted as; undefined for the static `auth.api_key` and the local CLI token. */
  userId?: string;
  username?: string;
  role: Role;
  scopes: readonly Scope[];
  /** How the request authenticated. */
  via: "session" | "api_key" | "static_key" | "local_token";
  /** Session id hash or API key id: what a revocation matches open requests against. */
  credentialId?: string;
}
