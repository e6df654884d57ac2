/** One file of a deployment export. */
export interface DeployFile {
  /** Relative to the export directory, `/`-separated. */
  path: string;
  content: string;
  /**
   * 0o600 for secrets (read by the user who runs `docker compose` only), 0o644 for what a
   * container's own user must read through a bind mount (Prometheus runs as `nobody`, Grafana as
   * uid 472, neither is the file's owner).
   */
  mode: 0o600 | 0o644;
}
