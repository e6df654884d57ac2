/**
 * Whether a chat template renders tools, as Ollama decides a model's `tools` capability: Go
 * templates name `.Tools`, Jinja ones `tools`, and some only `tool_call`; either spelling counts.
 */
export function templateTakesTools(template: string): boolean {
  const lower = template.toLowerCase();
  return lower.includes("tools") || lower.includes("tool_call");
}
