/**
 * What `aixcl stack export compose` writes: a Docker Compose project running aixcl (built from
 * the repository's Dockerfile) with PostgreSQL, Prometheus and Grafana. The Prometheus config,
 * alert rules and dashboards are the monitoring export's (metrics/monitoring.ts), so the two
 * exports cannot drift apart. docs/deployment.md explains the choices made here.
 */
import { Document, isMap, isScalar, stringify } from "yaml";
import { monitoringFiles } from "../metrics/monitoring.js";
import { IMAGES } from "./images.js";
import type { DeployFile } from "./types.js";

interface ComposeSecrets {
  /** Password of the `aixcl` PostgreSQL role (URL-safe: it goes into AIXCL_DATABASE_URL). */
  postgresPassword: string;
  /** Grafana's `admin` password. */
  grafanaAdminPassword: string;
}

export interface ComposeExportOptions {
  /** Absolute path of the build context: an aixcl checkout holding the Dockerfile. */
  buildContext: string;
  /** Tag of the aixcl image Compose builds (`aixcl:<version>`). */
  version: string;
  /** Port aixcl listens on, on 127.0.0.1 of the host. */
  port: number;
  /** aixcl's memory limit, in Compose's byte notation (`8g`): models live in its runners. */
  memory: string;
  /** Prometheus scrape and rule evaluation interval, e.g. `15s`. */
  scrapeInterval: string;
  /** The secrets for `.env`; undefined writes no `.env` (an existing one is kept). */
  secrets: ComposeSecrets | undefined;
}

/** Loopback ports of the other services (host network: they must be free on the host). */
const COMPOSE_PORTS = { postgres: 5432, prometheus: 9090, grafana: 3000 } as const;

/** The secrets file Compose reads for `${…}` in compose.yaml (mode 0600). */
export const ENV_FILE = ".env";
const COMPOSE_FILE = "compose.yaml";
const AIXCL_HOME = "/var/lib/aixcl";
/** Where Grafana reads the provisioned dashboards (bind-mounted read-only). */
const GRAFANA_DASHBOARDS = "/etc/grafana/dashboards";

/** `${NAME:?…}`: Compose refuses to start without the variable instead of using an empty one. */
const secret = (name: string): string => `\${${name}:?${name} is not set: keep the .env of this export}`;

/**
 * What every service gets: no capabilities, no privilege gain, a read-only root filesystem.
 * A new object each time, so the YAML holds each service in full rather than anchors.
 */
const hardened = (): Record<string, unknown> => ({
  network_mode: "host",
  restart: "unless-stopped",
  read_only: true,
  cap_drop: ["ALL"],
  security_opt: ["no-new-privileges:true"],
});

function healthcheck(test: string[], startPeriod = "30s"): Record<string, unknown> {
  return { test, interval: "30s", timeout: "5s", retries: 3, start_period: startPeriod };
}

/** A health check that fetches `url` with the image's wget. */
function httpCheck(url: string): string[] {
  return ["CMD", "wget", "-q", "-O", "/dev/null", url];
}

function services(options: ComposeExportOptions): Record<string, unknown> {
  const { postgres, prometheus, grafana } = COMPOSE_PORTS;
  const databaseUrl = `postgres://aixcl:${secret("POSTGRES_PASSWORD")}@127.0.0.1:${postgres}/aixcl`;
  return {
    aixcl: {
      build: { context: options.buildContext, dockerfile: "Dockerfile" },
      image: `aixcl:${options.version}`,
      ...hardened(),
      depends_on: { postgres: { condition: "service_healthy" } },
      environment: {
        AIXCL_HOME,
        AIXCL_PROFILE: "sys",
        AIXCL_HOST: "127.0.0.1",
        AIXCL_PORT: String(options.port),
        AIXCL_DATABASE_URL: databaseUrl,
      },
      volumes: [`aixcl-home:${AIXCL_HOME}`],
      tmpfs: ["/tmp:size=256m,mode=1777"],
      mem_limit: options.memory,
      pids_limit: 512,
      healthcheck: healthcheck(
        [
          "CMD",
          "node",
          "-e",
          `fetch("http://127.0.0.1:${options.port}/api/version").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
        ],
        "60s",
      ),
    },
    postgres: {
      image: IMAGES.postgres,
      ...hardened(),
      // The image's `postgres` user: started as it, the entrypoint needs no root to chown and
      // switch users, so every capability can be dropped.
      user: "999:999",
      command: ["postgres", "-c", "listen_addresses=127.0.0.1", "-c", `port=${postgres}`],
      environment: {
        POSTGRES_USER: "aixcl",
        POSTGRES_DB: "aixcl",
        POSTGRES_PASSWORD: secret("POSTGRES_PASSWORD"),
      },
      volumes: ["postgres-data:/var/lib/postgresql/data"],
      tmpfs: ["/var/run/postgresql:size=1m,mode=1777", "/tmp:size=64m,mode=1777"],
      shm_size: "256m",
      mem_limit: "1g",
      pids_limit: 256,
      healthcheck: healthcheck([
        "CMD",
        "pg_isready",
        "-h",
        "127.0.0.1",
        "-p",
        String(postgres),
        "-U",
        "aixcl",
        "-d",
        "aixcl",
      ]),
    },
    prometheus: {
      image: IMAGES.prometheus,
      ...hardened(),
      command: [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        "--storage.tsdb.retention.time=15d",
        `--web.listen-address=127.0.0.1:${prometheus}`,
      ],
      volumes: ["./prometheus:/etc/prometheus:ro", "prometheus-data:/prometheus"],
      mem_limit: "1g",
      pids_limit: 256,
      healthcheck: healthcheck(httpCheck(`http://127.0.0.1:${prometheus}/-/healthy`)),
    },
    grafana: {
      image: IMAGES.grafana,
      ...hardened(),
      depends_on: { prometheus: { condition: "service_healthy" } },
      environment: {
        GF_SERVER_HTTP_ADDR: "127.0.0.1",
        GF_SERVER_HTTP_PORT: String(grafana),
        GF_SECURITY_ADMIN_USER: "admin",
        GF_SECURITY_ADMIN_PASSWORD: secret("GRAFANA_ADMIN_PASSWORD"),
        GF_USERS_ALLOW_SIGN_UP: "false",
        // The root filesystem is read-only: log to the console (docker compose logs) only, and
        // do not download plugins at start.
        GF_LOG_MODE: "console",
        GF_PLUGINS_PREINSTALL_DISABLED: "true",
        GF_ANALYTICS_REPORTING_ENABLED: "false",
        GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
      },
      volumes: [
        "./grafana/provisioning:/etc/grafana/provisioning:ro",
        `./grafana/dashboards:${GRAFANA_DASHBOARDS}:ro`,
        "grafana-data:/var/lib/grafana",
      ],
      tmpfs: ["/tmp:size=64m,mode=1777"],
      mem_limit: "512m",
      pids_limit: 256,
      healthcheck: healthcheck(httpCheck(`http://127.0.0.1:${grafana}/api/health`)),
    },
  };
}

const header = (
  port: number,
): string => `Docker Compose project for aixcl, written by \`aixcl stack export compose\` (docs/deployment.md).
  docker compose up -d --build
  docker compose exec aixcl aixcl vault credentials     # the web admin's login

Network: every service uses the host's network (network_mode: host, as AIXCL did) and listens
on 127.0.0.1 only. aixcl is loopback-first: on a loopback address it needs no API credential
(like Ollama), the Host-header check accepts its clients' default localhost URLs, and its
database connection needs no TLS; on a private bridge network every one of those becomes a
non-loopback address, which aixcl refuses without auth.api: required and sslmode=verify-full.
Nothing listens on a public interface. The ports (aixcl ${port}, PostgreSQL ${COMPOSE_PORTS.postgres},
Prometheus ${COMPOSE_PORTS.prometheus}, Grafana ${COMPOSE_PORTS.grafana}) must be free on the host.

Secrets: .env (mode 0600, generated, never committed) holds the PostgreSQL and Grafana passwords;
Compose substitutes them below. Containers run with no capabilities, no-new-privileges, a
read-only root filesystem (tmpfs where a service writes temp files), a memory limit and a health
check each.`;

function composeYaml(options: ComposeExportOptions): string {
  const doc = new Document({
    name: "aixcl",
    services: services(options),
    volumes: { "aixcl-home": {}, "postgres-data": {}, "prometheus-data": {}, "grafana-data": {} },
  });
  doc.commentBefore = header(options.port)
    .split("\n")
    .map((line) => ` ${line}`)
    .join("\n");
  const serviceMap = doc.get("services");
  if (isMap(serviceMap)) {
    for (const pair of serviceMap.items) {
      if (isScalar(pair.key) && pair.key.value === "aixcl") {
        pair.key.commentBefore = " Built from the Dockerfile of the aixcl checkout named in build.context.";
      }
    }
  }
  return doc.toString({ lineWidth: 0 });
}

function envFile(secrets: ComposeSecrets): string {
  return [
    "# Secrets of the aixcl Compose project, generated by `aixcl stack export compose`.",
    "# Mode 0600: readable by the user who runs docker compose only. Do not commit it. The",
    "# PostgreSQL password is set when its volume is first created: changing it here later",
    "# needs ALTER ROLE aixcl PASSWORD in the database too.",
    `POSTGRES_PASSWORD=${secrets.postgresPassword}`,
    `GRAFANA_ADMIN_PASSWORD=${secrets.grafanaAdminPassword}`,
    "",
  ].join("\n");
}

function grafanaDatasource(): string {
  return `# Grafana datasource provisioning, written by \`aixcl stack export compose\`.\n${stringify({
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus",
        uid: "aixcl-prometheus",
        type: "prometheus",
        access: "proxy",
        url: `http://127.0.0.1:${COMPOSE_PORTS.prometheus}`,
        isDefault: true,
        editable: false,
      },
    ],
  })}`;
}

function grafanaDashboardProvider(): string {
  return `# Grafana dashboard provisioning, written by \`aixcl stack export compose\`.\n${stringify({
    apiVersion: 1,
    providers: [
      {
        name: "aixcl",
        folder: "aixcl",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: GRAFANA_DASHBOARDS },
      },
    ],
  })}`;
}

/** Every file of a Compose export, in the order they are written. */
export function composeFiles(options: ComposeExportOptions): DeployFile[] {
  const monitoring = monitoringFiles({
    target: `127.0.0.1:${options.port}`,
    authRequired: false,
    scrapeInterval: options.scrapeInterval,
  }).map((file): DeployFile => {
    // prometheus.yml and its rule file side by side (mounted at /etc/prometheus); dashboards
    // into the folder the dashboard provider reads.
    const path = file.path.startsWith("grafana/")
      ? `grafana/dashboards/${file.path.slice("grafana/".length)}`
      : `prometheus/${file.path}`;
    return { path, content: file.content, mode: 0o644 };
  });
  return [
    { path: COMPOSE_FILE, content: composeYaml(options), mode: 0o644 },
    ...(options.secrets ? [{ path: ENV_FILE, content: envFile(options.secrets), mode: 0o600 as const }] : []),
    ...monitoring,
    { path: "grafana/provisioning/datasources/aixcl.yml", content: grafanaDatasource(), mode: 0o644 },
    { path: "grafana/provisioning/dashboards/aixcl.yml", content: grafanaDashboardProvider(), mode: 0o644 },
  ];
}
