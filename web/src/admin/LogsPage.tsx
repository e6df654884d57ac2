import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { tailLogs } from "../api/admin-api";
import type { LogLine } from "../api/admin-types";
import { readStream } from "../api/stream";
import { adminErrorText, ErrorNotice, isForbidden } from "./ui/ErrorNotice";
import { PageHeader } from "./ui/PageHeader";

/** pino's level numbers and names. */
const LEVELS = [
  [10, "trace"],
  [20, "debug"],
  [30, "info"],
  [40, "warn"],
  [50, "error"],
  [60, "fatal"],
] as const;
const levelName = (level: number) => [...LEVELS].reverse().find(([n]) => level >= n)?.[1] ?? String(level);
/** Lines kept on the page; older ones scroll away. */
const KEEP = 500;
const FILTER_DELAY_MS = 300;

const timeOf = (line: LogLine) => {
  const date = new Date(line.time);
  return Number.isNaN(date.getTime()) ? String(line.time) : date.toLocaleTimeString();
};

/** The server's log, live: the last lines then new ones as they are written (NDJSON, follow=1). */
export function LogsPage() {
  const [level, setLevel] = useState("info");
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const [lines, setLines] = useState<LogLine[]>([]);
  const [state, setState] = useState<{ phase: "connecting" | "live" | "ended"; error: unknown }>({
    phase: "connecting",
    error: null,
  });
  // Bumped by Reconnect: opens the stream again with the same filters.
  const [attempt, setAttempt] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    const timer = setTimeout(() => setQ(text.trim()), FILTER_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);

  useEffect(() => {
    const controller = new AbortController();
    setLines([]);
    setState({ phase: "connecting", error: null });
    void (async () => {
      try {
        const response = await tailLogs({ level, q }, controller.signal);
        setState({ phase: "live", error: null });
        await readStream<LogLine>(response, (line) =>
          setLines((list) => (list.length >= KEEP ? [...list.slice(-KEEP + 1), line] : [...list, line])),
        );
        setState({ phase: "ended", error: null });
      } catch (error) {
        if (!controller.signal.aborted) setState({ phase: "ended", error });
      }
    })();
    return () => controller.abort();
  }, [level, q, attempt]);

  // Follows the newest line while the view is scrolled to the bottom.
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  return (
    <div class="admin-page admin-page-fill" data-testid="logs-page">
      <PageHeader
        title="Logs"
        intro="The server's recent log lines, then new ones live. Secrets are redacted."
      >
        <label class="field">
          <span class="field-label">Level</span>
          <select data-testid="logs-level" value={level} onChange={(e) => setLevel(e.currentTarget.value)}>
            {LEVELS.map(([, name]) => (
              <option key={name} value={name}>
                {name} and above
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span class="field-label">Contains</span>
          <input
            type="search"
            data-testid="logs-filter"
            placeholder="text or request id"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
      </PageHeader>
      {isForbidden(state.error) ? (
        <ErrorNotice error={state.error} />
      ) : (
        <div
          class={`logs-state${state.error !== null ? " notice-error" : ""}`}
          role="status"
          data-testid="logs-state"
          data-live={String(state.phase === "live")}
        >
          <span>
            {state.error !== null
              ? `The log stream stopped: ${adminErrorText(state.error)}`
              : state.phase === "live"
                ? `Live · ${lines.length} line${lines.length === 1 ? "" : "s"}`
                : state.phase === "ended"
                  ? `The stream ended · ${lines.length} line${lines.length === 1 ? "" : "s"}`
                  : "Connecting…"}
          </span>
          {state.phase === "ended" && (
            <button
              type="button"
              class="button button-small"
              data-testid="logs-reconnect"
              onClick={() => setAttempt((n) => n + 1)}
            >
              Reconnect
            </button>
          )}
        </div>
      )}
      <div
        ref={box}
        class="log-box"
        tabIndex={0}
        role="log"
        aria-label="Log lines"
        data-testid="log-lines"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {lines.length === 0 && state.phase === "live" && (
          <p class="log-empty">No lines match yet; new ones appear here.</p>
        )}
        {lines.map((line, i) => {
          const name = levelName(line.level);
          return (
            <div key={i} class={`log-line log-${name}`} data-testid="log-line" data-level={name}>
              <span class="log-time">{timeOf(line)}</span>
              <span class="log-level">{name}</span>
              {line.req_id !== undefined && (
                <button
                  type="button"
                  class="log-req"
                  data-testid="log-req-id"
                  title="Show only this request's lines"
                  onClick={() => setText(String(line.req_id))}
                >
                  {String(line.req_id)}
                </button>
              )}
              <span class="log-msg">{line.msg ?? ""}</span>
            </div>
          );
        })}
      </div>
    </div>
  );
}
