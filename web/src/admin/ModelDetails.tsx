import type { ShowResponse } from "../api/models-types";

/** What `/api/show` says of a model beyond the table: template, parameters, system, license. */
export function ModelDetails({ name, show }: { name: string; show: ShowResponse | undefined }) {
  if (!show) return <p class="muted">Loading details of {name}…</p>;
  const block = (title: string, text: string) =>
    text.trim() !== "" && (
      <div class="detail-block">
        <h4 class="detail-title">{title}</h4>
        <pre class="detail-text">{text}</pre>
      </div>
    );
  return (
    <div class="model-details" data-testid="model-details" data-name={name}>
      {block("Template", show.template)}
      {block("Parameters", show.parameters)}
      {block("System prompt", show.system)}
      {block("License", show.license)}
      {[show.template, show.parameters, show.system, show.license].every((t) => !t?.trim()) && (
        <p class="muted">This model has no template, parameters or license.</p>
      )}
    </div>
  );
}

/** The context length from the GGUF metadata (`<architecture>.context_length`). */
export function contextLength(show: ShowResponse | undefined): number | undefined {
  if (!show) return undefined;
  for (const [key, value] of Object.entries(show.model_info ?? {})) {
    if (key.endsWith(".context_length") && typeof value === "number") return value;
  }
  return undefined;
}
