/**
 * The images the Compose export runs, each pinned to an exact version: `latest` or a bare major
 * would change under a running deployment at the next pull. Moving one is a reviewed change here
 * (test/deploy/compose-export.test.ts refuses floating tags). The aixcl image itself is built
 * from the repository's Dockerfile, whose base image is pinned there.
 */
export const IMAGES = {
  /** PostgreSQL 17 on Debian 12, the `postgres` user is uid 999 (compose.ts runs it as that). */
  postgres: "postgres:17.9-bookworm",
  /** Prometheus 3.5, a long-term-support release; runs as `nobody`. */
  prometheus: "prom/prometheus:v3.5.0",
  /** Grafana OSS 12.2 (Alpine); runs as uid 472. */
  grafana: "grafana/grafana:12.2.1",
} as const;
