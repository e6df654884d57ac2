import { useEffect, useState } from "preact/hooks";
import type { ChatOptions } from "../api/types";
import type { ChatSettings } from "../hooks/use-chat";
import { Icon } from "./icons";

interface SettingsPanelProps {
  settings: ChatSettings;
  onSave: (patch: { system: string | null; options: ChatOptions }) => void;
  onClose: () => void;
}

const toText = (value: number | undefined) => (value === undefined ? "" : String(value));

/** A number field's value, or undefined when empty (the server's default applies). */
function toNumber(text: string, integer: boolean): number | undefined {
  if (text.trim() === "") return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) return undefined;
  return integer ? Math.round(value) : value;
}

/** Per-chat settings: system prompt, temperature, context length, answer length. */
export function SettingsPanel({ settings, onSave, onClose }: SettingsPanelProps) {
  const [system, setSystem] = useState(settings.system ?? "");
  const [temperature, setTemperature] = useState(toText(settings.options.temperature));
  const [numCtx, setNumCtx] = useState(toText(settings.options.num_ctx));
  const [numPredict, setNumPredict] = useState(toText(settings.options.num_predict));

  // The fields follow the saved values only when those change. Keyed by value, not by object:
  // `settings` is rebuilt on every render (a streaming answer re-renders often) and the chat's row
  // is fetched again after a rename, a pin or a new title, each a new object with the same values;
  // following those would wipe what is being typed.
  const saved = JSON.stringify([settings.system, settings.options]);
  useEffect(() => {
    setSystem(settings.system ?? "");
    setTemperature(toText(settings.options.temperature));
    setNumCtx(toText(settings.options.num_ctx));
    setNumPredict(toText(settings.options.num_predict));
  }, [saved]);

  const submit = (event: Event) => {
    event.preventDefault();
    const options: ChatOptions = {};
    const t = toNumber(temperature, false);
    const ctx = toNumber(numCtx, true);
    const predict = toNumber(numPredict, true);
    if (t !== undefined) options.temperature = t;
    if (ctx !== undefined) options.num_ctx = ctx;
    if (predict !== undefined) options.num_predict = predict;
    onSave({ system: system.trim() === "" ? null : system, options });
  };

  return (
    <section
      class="settings-panel"
      data-testid="settings-panel"
      aria-labelledby="settings-title"
      onKeyDown={(e) => e.key === "Escape" && onClose()}
    >
      <div class="settings-head">
        <h2 id="settings-title">Chat settings</h2>
        <button type="button" class="icon-button" aria-label="Close settings" onClick={onClose}>
          <Icon name="close" />
        </button>
      </div>
      <form class="settings-form" onSubmit={submit}>
        <label class="field">
          <span class="field-label">System prompt</span>
          <textarea
            data-testid="settings-system"
            rows={5}
            value={system}
            placeholder="You are a helpful assistant."
            onInput={(e) => setSystem(e.currentTarget.value)}
          />
        </label>
        <div class="field-row">
          <NumberField
            label="Temperature"
            testId="settings-temperature"
            min="0"
            max="2"
            step="0.1"
            decimal
            value={temperature}
            onInput={setTemperature}
          />
          <NumberField
            label="Context length"
            testId="settings-num-ctx"
            min="256"
            step="256"
            value={numCtx}
            onInput={setNumCtx}
          />
          <NumberField
            label="Max tokens"
            testId="settings-num-predict"
            min="1"
            step="1"
            value={numPredict}
            onInput={setNumPredict}
          />
        </div>
        <div class="settings-actions">
          <button type="button" class="button" onClick={onClose}>
            Close
          </button>
          <button type="submit" class="button button-primary" data-testid="settings-save">
            Save
          </button>
        </div>
      </form>
    </section>
  );
}

interface NumberFieldProps {
  label: string;
  testId: string;
  min: string;
  max?: string;
  step: string;
  /** Decimal keypad on phones (temperature); whole numbers otherwise. */
  decimal?: boolean;
  /** The text as typed: empty means the model's default. */
  value: string;
  onInput: (value: string) => void;
}

/** One optional numeric option of the chat; empty keeps the model's default. */
function NumberField({ label, testId, min, max, step, decimal, value, onInput }: NumberFieldProps) {
  return (
    <label class="field">
      <span class="field-label">{label}</span>
      <input
        type="number"
        data-testid={testId}
        min={min}
        max={max}
        step={step}
        inputMode={decimal ? "decimal" : "numeric"}
        placeholder="default"
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
    </label>
  );
}
