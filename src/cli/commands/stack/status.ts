/**
 * `aixcl stack status [--json]`: each component the profile runs, healthy, degraded or down with
 * its reason, from `GET /api/admin/health` with the local token (and the web app's page in
 * profile sys). Exit 0 only when every one is healthy.
 */
import type { HealthWire } from "../../../api/admin-wire.js";
import { createJsonRequest } from "../../../api/admin-request.js";
import type { Config } from "../../../config/schema.js";
import type { ExitCode } from "../../command.js";
import { findLocalServer } from "../../admin-session.js";
import { table } from "../../format.js";
import { printOut } from "../../output.js";
import { isRecordedServer, readStackRecord } from "./run-files.js";

type ComponentState = "healthy" | "degraded" | "down";

interface ComponentStatus {
  name: string;
  status: ComponentState;
  detail: string;
}

export interface StackStatus {
  running: boolean;
  url?: string;
  pid?: number;
  profile?: string;
  version?: string;
  uptime_s?: number;
  /** Why the server is not running, or not reached though its process runs. */
  reason?: string;
  components: ComponentStatus[];
}

const GiB = 1024 ** 3;
const size = (bytes: number): string =>
  bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;

/** The components of `health`, in the order the profile adds them. */
function components(health: HealthWire, web: ComponentStatus | undefined): ComponentStatus[] {
  const c = health.components;
  const out: ComponentStatus[] = [
    { name: "api", status: "healthy", detail: `${c.api.requests_active} request(s) open` },
  ];
  if (c.engine) {
    const runners = c.engine.runners.length;
    out.push({
      name: "engine",
      status: "healthy",
      detail: `${runners} runner(s), queue ${c.engine.queue_depth}, ${c.engine.runner_restarts} restart(s)`,
    });
    for (const runner of c.engine.runners) {
      out.push({
        name: `runner ${runner.model}`,
        status: "healthy",
        detail: `pid ${runner.pid ?? "-"}, ${size(runner.size)} (${size(runner.size_vram)} VRAM), slots ${runner.slots_busy}/${runner.slots} busy`,
      });
    }
  }
  if (c.models) {
    const free =
      c.models.disk_free_bytes === null ? "free space unknown" : `${size(c.models.disk_free_bytes)} free`;
    out.push({
      name: "models",
      status: c.models.status === "ok" ? "healthy" : "degraded",
      detail: `${c.models.count} model(s), ${free}${c.models.status === "ok" ? "" : " (less than 1 GiB)"}`,
    });
  }
  if (c.database) {
    out.push(
      c.database.status === "ok"
        ? {
            name: "database",
            status: "healthy",
            detail: `${c.database.engine}, ${size(c.database.size_bytes)}, migration ${c.database.migration}`,
          }
        : { name: "database", status: "down", detail: `${c.database.engine}: ${c.database.error}` },
    );
  }
  if (c.vault) {
    out.push(
      c.vault.sealed
        ? { name: "vault", status: "degraded", detail: "sealed: run `aixcl vault unseal`" }
        : { name: "vault", status: "healthy", detail: `unsealed (${c.vault.mode ?? "unknown"} mode)` },
    );
  }
  if (web) out.push(web);
  out.push(
    c.metrics
      ? {
          name: "metrics",
          status: "healthy",
          detail: `${c.metrics.samples} sample(s) every ${c.metrics.interval_s} s`,
        }
      : { name: "metrics", status: "down", detail: "the sampler is not running" },
  );
  return out;
}

/** Profile sys serves the browser app at `/`: it answers with its page. */
async function webStatus(url: string): Promise<ComponentStatus> {
  try {
    // As a browser asks: `GET /` without it is Ollama's "is running" answer for API clients.
    const response = await fetch(`${url}/`, {
      headers: { Accept: "text/html" },
      signal: AbortSignal.timeout(5000),
    });
    const type = response.headers.get("content-type") ?? "";
    await response.arrayBuffer();
    if (response.ok && type.includes("text/html"))
      return { name: "web", status: "healthy", detail: `${url}/` };
    return { name: "web", status: "down", detail: `GET / answered ${response.status} ${type}`.trim() };
  } catch (error) {
    return { name: "web", status: "down", detail: `GET / failed: ${(error as Error).message}` };
  }
}

async function readStackStatus(config: Readonly<Config>): Promise<StackStatus> {
  const found = await findLocalServer(config);
  if (!found.running) {
    const reason = found.note ?? "no server of this home is running";
    // The server `stack start` started is alive but does not answer (stopped, hung): running,
    // and down; `stack start` would refuse to start another.
    const record = await readStackRecord(config);
    if (record !== undefined && (await isRecordedServer(config, record))) {
      const detail = `process ${record.pid} is alive but does not answer (${reason})`;
      return {
        running: true,
        pid: record.pid,
        profile: record.profile,
        reason: detail,
        components: [{ name: "api", status: "down", detail }],
      };
    }
    return { running: false, reason, components: [] };
  }
  const { baseUrl, token } = found.server;
  const health = await createJsonRequest({ baseUrl, token }).json<HealthWire>("GET", "/api/admin/health");
  const web = health.profile === "sys" ? await webStatus(baseUrl) : undefined;
  const record = await readStackRecord(config);
  return {
    running: true,
    url: baseUrl,
    ...(record !== undefined ? { pid: record.pid } : {}),
    profile: health.profile,
    version: health.version,
    uptime_s: health.uptime_s,
    components: components(health, web),
  };
}

export async function stackStatus(config: Readonly<Config>, json: boolean): Promise<ExitCode> {
  const status = await readStackStatus(config);
  const healthy = status.running && status.components.every((c) => c.status === "healthy");
  if (json) {
    await printOut(JSON.stringify(status, null, 2));
  } else if (!status.running) {
    await printOut(`aixcl is not running (${status.reason ?? "no server"})`);
  } else if (status.url === undefined) {
    await printOut(`aixcl is not responding: ${status.reason ?? "no answer"}`);
  } else {
    await printOut(
      `aixcl ${status.version ?? ""} at ${status.url ?? ""}, profile ${status.profile ?? ""}, up ${status.uptime_s ?? 0} s${status.pid !== undefined ? `, pid ${status.pid}` : ""}\n`,
    );
    await printOut(
      table([
        ["COMPONENT", "STATUS", "DETAIL"],
        ...status.components.map((c) => [c.name, c.status, c.detail]),
      ]),
    );
  }
  return healthy ? 0 : 1;
}
