/** The wire shapes of the admin console's routes (docs/admin-console.md), as the server sends them. */

export type Role = "admin" | "user";

export interface User {
  id: string;
  username: string;
  role: Role;
  status: "active" | "pending" | "disabled";
  created_at: string;
  updated_at: string;
  /** Added by the admin console contract; absent on an older server. */
  last_login_at?: string | null;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  user: string;
  user_id: string;
  scopes: string[];
  status: "active" | "revoked" | "expired";
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface CreatedKey extends ApiKey {
  key: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  actor_id: string | null;
  action: string;
  target: string | null;
  address: string | null;
  details: unknown;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_before: number | null;
}

type ComponentStatus = "ok" | "degraded" | "down" | "sealed" | (string & {});

/** One component of `/api/admin/health`: its status and whatever figures it reports. */
export type HealthComponent = { status: ComponentStatus } & Record<string, unknown>;

export interface Health {
  status: "ok" | "degraded" | "down";
  version: string;
  uptime_s: number;
  profile: string;
  components: Record<string, HealthComponent | undefined>;
}

export type MetricsRange = "15m" | "1h" | "24h";

export type Series = (number | null)[];

export interface MetricsSeries {
  range: MetricsRange;
  interval_s: number;
  models: string[];
  t: number[];
  series: Record<string, Series | Record<string, Series> | undefined>;
}

/** One line of `/api/admin/logs` (a pino object: more fields may ride along). */
export interface LogLine {
  time: number | string;
  level: number;
  msg?: string;
  req_id?: string;
  [field: string]: unknown;
}
