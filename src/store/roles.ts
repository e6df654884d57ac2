/**
 * Account roles and API key scopes: the values the schema stores (`users.role` has a CHECK on
 * them, `api_keys.scopes` holds them). The store owns them; auth decides what each one allows.
 */

export type Role = "admin" | "user";

/** What an API key may do. `admin` implies the others; `models:write` covers pull/create/copy/delete. */
export type Scope = "inference" | "models:write" | "admin";

export const SCOPES: readonly Scope[] = ["inference", "models:write", "admin"];
