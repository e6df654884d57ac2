/**
 * Renders Ollama's progress statuses (`pulling manifest`, per-layer `pulling <digest>` with
 * total/completed, `verifying sha256 digest`, `success`) to stderr: one cli-progress bar per
 * layer on a terminal (percent, bytes, speed, ETA), plain lines otherwise so logs stay readable.
 */
import cliProgress from "cli-progress";
import type { StatusWire } from "../api/ollama/responses.js";

export interface ProgressView {
  update(status: StatusWire): void;
  /** Stops the bars (idempotent); call on success and on failure. */
  stop(): void;
}

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/** Decimal units, as Ollama prints sizes ("1.2 GB"). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** Short digest as Ollama shows it: the first 12 hex characters. */
function shortDigest(digest: string): string {
  return digest.replace(/^sha256[:-]/, "").slice(0, 12);
}

interface Layer {
  started: number;
  /** Bytes already present when this run first saw the layer (a resumed pull): not counted in speed. */
  base: number;
  bar?: cliProgress.SingleBar;
  /** Last tenth printed in plain mode. */
  tenth: number;
}

export function createProgressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  const tty = stream.isTTY === true;
  const multi = tty
    ? new cliProgress.MultiBar(
        {
          stream,
          format: "{label} {bar} {percentage}% | {done}/{size} | {speed} | ETA {eta_formatted}",
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
          fps: 10,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const layers = new Map<string, Layer>();
  let lastStatus = "";
  let stopped = false;

  const line = (text: string): void => {
    if (multi) multi.log(`${text}\n`);
    else stream.write(`${text}\n`);
  };

  const layerUpdate = (status: StatusWire & { digest: string; total: number }): void => {
    const completed = status.completed ?? 0;
    let layer = layers.get(status.digest);
    if (!layer) {
      layer = { started: Date.now(), base: completed, tenth: -1 };
      layers.set(status.digest, layer);
    }
    const label = `pulling ${shortDigest(status.digest)}`;
    const seconds = (Date.now() - layer.started) / 1000;
    const speed = seconds > 0.2 ? `${formatBytes((completed - layer.base) / seconds)}/s` : "-";
    const payload = { label, done: formatBytes(completed), size: formatBytes(status.total), speed };
    if (multi) {
      if (!layer.bar) layer.bar = multi.create(status.total, completed, payload);
      layer.bar.setTotal(status.total);
      layer.bar.update(completed, payload);
      return;
    }
    const tenth = status.total > 0 ? Math.floor((completed / status.total) * 10) : 10;
    if (tenth === layer.tenth) return;
    layer.tenth = tenth;
    line(`${label}: ${tenth * 10}% (${payload.done}/${payload.size}, ${speed})`);
  };

  return {
    update(status) {
      if (stopped) return;
      if (status.digest !== undefined && status.total !== undefined && status.total > 0) {
        layerUpdate({ ...status, digest: status.digest, total: status.total });
        return;
      }
      if (status.status === lastStatus) return;
      lastStatus = status.status;
      line(status.status);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multi?.stop();
    },
  };
}
