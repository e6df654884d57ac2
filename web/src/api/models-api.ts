/** Ollama's model routes, as the admin Models page calls them with the session. */
import { request, requestJson } from "./client";
import type { InstalledModel, RunningModel, ShowResponse } from "./models-types";

export const listInstalled = async () =>
  (await requestJson<{ models: InstalledModel[] }>("GET", "/api/tags")).models;
export const listRunning = async () =>
  (await requestJson<{ models: RunningModel[] }>("GET", "/api/ps")).models;
export const showModel = (model: string) => requestJson<ShowResponse>("POST", "/api/show", { model });
export const deleteModel = (model: string) => request("DELETE", "/api/delete", { model });
/** Loads a model (keeps it 5 minutes) or unloads it (`keepAlive` 0): a generate without a prompt. */
export const setKeepAlive = (model: string, keepAlive: string | 0) =>
  requestJson<unknown>("POST", "/api/generate", { model, keep_alive: keepAlive, stream: false });
/** Starts a pull; resolves with the open NDJSON progress stream. Abort `signal` to cancel it. */
export const startPull = (model: string, insecure: boolean, signal: AbortSignal) =>
  request("POST", "/api/pull", { model, insecure, stream: true }, signal);
