/** GET /v1/models and /v1/models/{model}, in OpenAI's spelling. */
export interface ModelObject {
  id: string;
  object: "model";
  /** Unix seconds (the model's modification time). */
  created: number;
  owned_by: string;
}

export interface ModelList {
  object: "list";
  data: ModelObject[];
}
