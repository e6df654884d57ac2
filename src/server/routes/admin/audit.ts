/**
 * `/api/admin/audit`: the audit log for an admin (the admin router has already required one),
 * newest first, paged by id. Reading the log is not itself audited: it changes nothing.
 */
import { Hono } from "hono";
import {
  actionFilter,
  auditQuerySchema,
  DEFAULT_AUDIT_LIMIT,
  toAuditPageWire,
  type AuditPageWire,
} from "../../../api/audit-client.js";
import { AppError } from "../../../errors.js";
import { listAuditPage } from "../../../store/audit.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { parseWire } from "../../validate.js";

/** `GET /?limit=&before=&action=` → `{ entries, next_before }`. */
export function auditRoutes(deps: ServerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    if (deps.db === undefined) throw new AppError("not_found", "404 page not found");
    const query = parseWire(auditQuerySchema, c.req.query());
    const page = await listAuditPage(deps.db, {
      limit: query.limit ?? DEFAULT_AUDIT_LIMIT,
      ...(query.before !== undefined ? { before: query.before } : {}),
      ...actionFilter(query.action),
    });
    return c.json(toAuditPageWire(page) satisfies AuditPageWire);
  });

  return app;
}
