import type { ModelInfo } from "../api/types";

interface ModelPickerProps {
  models: ModelInfo[] | null;
  value: string | null;
  onChange: (model: string) => void;
}

/** A model as the picker shows it: `:latest`, the tag a name without one means, left out. */
const describe = (model: ModelInfo) =>
  [model.name.replace(/:latest$/, ""), model.parameter_size, model.quantization].filter(Boolean).join(" · ");

/** The model of the chat: installed chat models (name, parameter size, quantization). */
export function ModelPicker({ models, value, onChange }: ModelPickerProps) {
  const known = models?.some((m) => m.name === value) ?? false;
  return (
    <select
      class="model-picker"
      data-testid="model-picker"
      aria-label="Model"
      value={value ?? ""}
      disabled={models === null || (models.length === 0 && value === null)}
      onChange={(e) => onChange(e.currentTarget.value)}
    >
      {models === null && <option value="">Loading models…</option>}
      {models?.length === 0 && value === null && <option value="">No models</option>}
      {value !== null && !known && models !== null && <option value={value}>{value} (not installed)</option>}
      {models?.map((model) => (
        <option key={model.name} value={model.name}>
          {describe(model)}
        </option>
      ))}
    </select>
  );
}
