/**
 * Renders Ollama's progress statuses (`pulling manifest`, per-layer `pulling <digest>` with
 * total/completed, `verifying sha256 digest`, `success`) to stderr: one cli-progress bar per
 * layer on a terminal (percent, bytes, speed, ETA), plain lines otherwise so logs stay readable.
 */
import cliProgress from "cli-progress";
import type { StatusWire } from "../api/ollama/responses.js";
import { cliIo, type CliOutput } from "./io.js";

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

/** "42s", "3m05s", "1h02m"; "-" while unknown. */
function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "-";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export function createProgressView(stream: CliOutput = cliIo().stderr): ProgressView {
  const tty = stream.isTTY === true;
  // Bars exist only while layers transfer: a status line (verifying, writing manifest) ends them,
  // so it prints below the finished bars instead of being redrawn over.
  let multi: cliProgress.MultiBar | undefined;
  const bars = (): cliProgress.MultiBar =>
    (multi ??= new cliProgress.MultiBar(
      {
        stream,
        format: "{label} {bar} {percentage}% | {done}/{size} | {speed} | ETA {remaining}",
        hideCursor: true,
        clearOnComplete: false,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    ));
  const endBars = (): void => {
    if (!multi) return;
    multi.stop();
    multi = undefined;
    for (const layer of layers.values()) layer.bar = undefined;
  };
  const layers = new Map<string, Layer>();
  let lastStatus = "";
  let stopped = false;

  const layerUpdate = (status: StatusWire & { digest: string; total: number }): void => {
    const completed = status.completed ?? 0;
    let layer = layers.get(status.digest);
    if (!layer) {
      layer = { started: Date.now(), base: completed, tenth: -1 };
      layers.set(status.digest, layer);
    }
    const label = `pulling ${shortDigest(status.digest)}`;
    const seconds = (Date.now() - layer.started) / 1000;
    const rate = seconds > 0.2 ? (completed - layer.base) / seconds : 0;
    const speed = rate > 0 ? `${formatBytes(rate)}/s` : "-";
    const eta =
      completed >= status.total ? "0s" : rate > 0 ? formatEta((status.total - completed) / rate) : "-";
    const payload = {
      label,
      done: formatBytes(completed),
      size: formatBytes(status.total),
      speed,
      remaining: eta,
    };
    if (tty) {
      layer.bar ??= bars().create(status.total, completed, payload);
      layer.bar.setTotal(status.total);
      layer.bar.update(completed, payload);
      return;
    }
    const tenth = status.total > 0 ? Math.floor((completed / status.total) * 10) : 10;
    if (tenth === layer.tenth) return;
    layer.tenth = tenth;
    stream.write(`${label}: ${tenth * 10}% (${payload.done}/${payload.size}, ${speed})\n`);
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
      endBars();
      stream.write(`${status.status}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      endBars();
    },
  };
}
