/** Ollama's model routes as the admin Models page reads them (src/api/ollama/responses.ts). */

interface ModelDetails {
  family: string;
  parameter_size: string;
  quantization_level: string;
}

export interface InstalledModel {
  name: string;
  size: number;
  modified_at: string;
  digest: string;
  details: ModelDetails;
}

export interface RunningModel {
  name: string;
  size: number;
  size_vram: number;
  context_length: number;
  expires_at: string;
  details: ModelDetails;
}

export interface ShowResponse {
  license: string;
  parameters: string;
  template: string;
  system: string;
  details: ModelDetails;
  model_info: Record<string, unknown>;
  capabilities: string[];
}

/** One line of the `/api/pull` NDJSON stream. */
export interface PullStatus {
  status?: string;
  digest?: string;
  total?: number;
  completed?: number;
  error?: string;
}
