/**
 * The wire of the account routes (`/api/auth/*`, `/api/admin/users*`, `/api/admin/settings/signup`)
 * and the typed client `aixcl users` uses against a running server (authenticated by the local
 * token). Wire spelling is snake_case like the rest of the API.
 */
import { z } from "zod";
import { createJsonRequest, type AdminClientOptions } from "./admin-request.js";

/** Longest username or password a request may carry; the real rules are checked by the service. */
const MAX_FIELD = 4096;
const role = z.enum(["admin", "user"]);

/** Login and sign-up both take a username and a password. */
export const credentialsRequestSchema = z.object({
  username: z.string().min(1).max(MAX_FIELD),
  password: z.string().min(1).max(MAX_FIELD),
});

export const createUserRequestSchema = z.object({
  username: z.string().min(1).max(MAX_FIELD),
  password: z.string().min(1).max(MAX_FIELD),
  role: role.default("user"),
});

export const setRoleRequestSchema = z.object({ role });
export const setPasswordRequestSchema = z.object({ password: z.string().min(1).max(MAX_FIELD) });
export const signupSettingSchema = z.object({ enabled: z.boolean() });

export type UserRoleWire = z.infer<typeof role>;

export interface UserWire {
  id: string;
  username: string;
  role: UserRoleWire;
  status: "active" | "pending" | "disabled";
  created_at: string;
  updated_at: string;
  /** The last successful login; null before the first. */
  last_login_at: string | null;
}

/** `GET /api/auth/me`: who the request acts as. */
export interface MeWire {
  username: string | null;
  user_id: string | null;
  role: UserRoleWire;
  scopes: string[];
  via: "session" | "api_key" | "static_key" | "local_token";
}

export function toUserWire(user: {
  id: string;
  username: string;
  role: UserRoleWire;
  status: UserWire["status"];
  createdAt: Date;
  updatedAt: Date;
  lastLoginAt: Date | null;
}): UserWire {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    status: user.status,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
    last_login_at: user.lastLoginAt === null ? null : user.lastLoginAt.toISOString(),
  };
}

export type UsersClientOptions = AdminClientOptions;

export interface UsersClient {
  list(): Promise<UserWire[]>;
  create(input: { username: string; password: string; role: UserRoleWire }): Promise<UserWire>;
  remove(username: string): Promise<void>;
  setRole(username: string, role: UserRoleWire): Promise<UserWire>;
  setPassword(username: string, password: string): Promise<void>;
  activate(username: string): Promise<UserWire>;
  disable(username: string): Promise<UserWire>;
  signupEnabled(): Promise<boolean>;
  setSignupEnabled(enabled: boolean): Promise<void>;
}

export function createUsersClient(options: UsersClientOptions): UsersClient {
  const user = (name: string) => `/api/admin/users/${encodeURIComponent(name)}`;
  const { json, none } = createJsonRequest({ baseUrl: options.baseUrl, token: options.token });

  return {
    list: async () => (await json<{ users: UserWire[] }>("GET", "/api/admin/users")).users,
    create: async (input) => (await json<{ user: UserWire }>("POST", "/api/admin/users", input)).user,
    remove: (name) => none("DELETE", user(name)),
    setRole: async (name, newRole) =>
      (await json<{ user: UserWire }>("PUT", `${user(name)}/role`, { role: newRole })).user,
    setPassword: (name, password) => none("PUT", `${user(name)}/password`, { password }),
    activate: async (name) => (await json<{ user: UserWire }>("POST", `${user(name)}/activate`)).user,
    disable: async (name) => (await json<{ user: UserWire }>("POST", `${user(name)}/disable`)).user,
    signupEnabled: async () =>
      (await json<{ enabled: boolean }>("GET", "/api/admin/settings/signup")).enabled,
    setSignupEnabled: (enabled) => none("PUT", "/api/admin/settings/signup", { enabled }),
  };
}
