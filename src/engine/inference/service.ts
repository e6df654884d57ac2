import type { Config } from "../../config/schema.js";
import { AppError, isAppError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { displayName, parseModelName } from "../../models/names.js";
import { templateTakesTools } from "../../models/tool-support.js";
import type { ModelRecord, ModelStore } from "../../models/types.js";
import type { Engine, LoadOptions } from "../types.js";
import { fitContext, fitConversation, type FitOptions } from "./context-fit.js";
import { createModelTraitsCache, type ModelTraits } from "./model-traits.js";
import { withModelDefaults } from "./options.js";
import {
  FALLBACK_TEMPLATE,
  renderChatTemplate,
  renderInsertTemplate,
  templateSupportsInsert,
  type TemplateOrigin,
} from "./template.js";
import { planTools, toolCallFormat, type ToolPlan } from "./tool-choice.js";
import { createToolCallStream, parseToolCalls, toToolCall } from "./tool-calls.js";
import { formatAfter, planThinking, splitThinking, type SplitEvent, type ThinkPlan } from "./thinking.js";
import type {
  ChatMessage,
  ChatRequest,
  CompletionRequest,
  EmbedServiceRequest,
  EmbedServiceResult,
  Inference,
  InferenceEvent,
} from "./types.js";

export interface InferenceOptions {
  engine: Engine;
  store: ModelStore;
  config: Readonly<Config>;
  logger: Logger;
}

/** Truncates a vector to `dimensions` and rescales it to unit length (Matryoshka embeddings). */
export function truncateEmbedding(vector: readonly number[], dimensions: number): number[] {
  if (dimensions >= vector.length) return [...vector];
  const head = vector.slice(0, dimensions);
  const norm = Math.sqrt(head.reduce((sum, x) => sum + x * x, 0));
  return norm === 0 ? head : head.map((x) => x / norm);
}

/** llama.cpp adds BOS itself for such vocabularies; a template's own BOS would make it double. */
function stripLeadingBos(prompt: string, traits: ModelTraits): string {
  if (traits.addBos && traits.bosToken !== "" && prompt.startsWith(traits.bosToken)) {
    return prompt.slice(traits.bosToken.length);
  }
  return prompt;
}

/** A request's template > the model's template layer > the GGUF's chat template > plain text. */
function pickTemplate(
  requestTemplate: string | undefined,
  model: ModelRecord,
  traits: ModelTraits,
): { source: string; origin: TemplateOrigin } {
  const layer = requestTemplate || model.template;
  if (layer) return { source: layer, origin: "ollama" };
  if (traits.chatTemplate) return { source: traits.chatTemplate, origin: "gguf" };
  return { source: FALLBACK_TEMPLATE, origin: "ollama" };
}

/**
 * Request system message > the model's system prompt; the model's preset messages come before the
 * request's, after any leading system messages (HF templates expect the system turn first).
 */
export function buildConversation(model: ModelRecord, messages: readonly ChatMessage[]): ChatMessage[] {
  const preset: ChatMessage[] = (model.messages ?? [])
    .filter((m): m is ChatMessage => ["system", "user", "assistant", "tool"].includes(m.role))
    .map((m) => ({ role: m.role, content: m.content }));
  const lead = messages.findIndex((m) => m.role !== "system");
  const split = lead < 0 ? messages.length : lead;
  const all = [...messages.slice(0, split), ...preset, ...messages.slice(split)];
  if (model.system && !all.some((m) => m.role === "system")) {
    all.unshift({ role: "system", content: model.system });
  }
  return all;
}

function rejectImages(requestModel: string, messages: readonly ChatMessage[]): void {
  // No runner here loads a vision projector, so images cannot reach any model.
  if (messages.some((m) => m.images && m.images.length > 0)) {
    throw new AppError("invalid_request", `"${requestModel}" does not support vision`);
  }
}

/** Turns engine events into service events, detecting tool calls when tools are in play. */
async function* relay(
  events: AsyncIterable<SplitEvent>,
  model: ModelRecord,
  plan: ToolPlan | undefined,
): AsyncGenerator<InferenceEvent, void, undefined> {
  const names = plan?.callable.map((tool) => tool.name);
  const detector = plan && !plan.forced && plan.callable.length > 0 ? createToolCallStream(names) : undefined;
  let forcedOutput = "";
  for await (const event of events) {
    if (event.type === "thinking") {
      yield event;
      continue;
    }
    if (event.type === "text") {
      if (plan?.forced) {
        forcedOutput += event.text;
        continue;
      }
      const text = detector ? detector.push(event.text) : event.text;
      if (text !== "") yield { type: "text", text };
      continue;
    }
    let tail = { text: "", calls: [] as ReturnType<typeof parseToolCalls>["calls"] };
    if (detector) tail = detector.finish();
    if (plan?.forced) {
      const call = toToolCall(safeJson(forcedOutput));
      // The grammar makes this a call; should the output be cut short, it is still shown, not lost.
      tail =
        call && names?.includes(call.name)
          ? { text: "", calls: [call] }
          : parseToolCalls(forcedOutput, names);
    }
    if (tail.text !== "") yield { type: "text", text: tail.text };
    if (tail.calls.length > 0) yield { type: "tool_calls", calls: tail.calls };
    yield { type: "done", stats: event.stats, model };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The inference service (see `Inference` in ./types.ts). */
export function createInference(options: InferenceOptions): Inference {
  const { engine, store, logger } = options;
  const traitsCache = createModelTraitsCache();

  /**
   * Refuses the request when the engine could not take it anyway (queue full), before the model
   * record is read and the prompt rendered: an overloaded server should not spend CPU on requests
   * it is going to refuse.
   */
  const admit = (name: string): void => engine.admit(displayName(parseModelName(name)));

  /**
   * The model, with the draft model its `draft_model` parameter names when engine.speculative is
   * "draft" (every path that loads the model attaches it, so they share one runner).
   */
  const getModel = async (name: string): Promise<ModelRecord> => {
    const model = await store.get(name);
    const draftName = model.params.draft_model;
    if (options.config.engine.speculative !== "draft" || typeof draftName !== "string") return model;
    let draft: ModelRecord;
    try {
      draft = await store.get(draftName);
    } catch (error) {
      if (!isAppError(error) || error.code !== "model_not_found") throw error;
      // The request's model exists: a 404 would tell clients to pull it.
      throw new AppError("model_load_failed", `draft model "${draftName}" of "${model.name}" not found`);
    }
    return {
      ...model,
      draft: { name: draft.name, modelPath: draft.modelPath, modelDigest: draft.modelDigest },
    };
  };

  const resolve = async (name: string): Promise<{ model: ModelRecord; traits: ModelTraits }> => {
    admit(name);
    const model = await getModel(name);
    return { model, traits: await traitsCache.get(model) };
  };

  /** The runner caps num_ctx at the model's trained length; the prompt must fit what it will use. */
  const fitOptions = (
    model: ModelRecord,
    traits: ModelTraits,
    load: LoadOptions,
    maxTokens: number | undefined,
    truncate: boolean | undefined,
  ): FitOptions => {
    const requested =
      load.numCtx !== undefined && load.numCtx > 0 ? load.numCtx : options.config.engine.context_length;
    return {
      contextLength: Math.min(requested, traits.trainedContext ?? Infinity),
      truncate: truncate ?? true,
      maxTokens,
      count: async (text) => (await engine.tokenize(model, text, load)).length,
    };
  };

  const loadOptions = (model: ModelRecord, load: LoadOptions): LoadOptions =>
    withModelDefaults({ sampling: {}, load }, model.params).load;

  return {
    async *chat(request: ChatRequest) {
      const { model, traits } = await resolve(request.model);
      if (traits.embeddingOnly)
        throw new AppError("invalid_request", `"${request.model}" does not support chat`);
      rejectImages(request.model, request.messages);
      const { sampling, load } = withModelDefaults(request, model.params);
      const plan = planTools(request.tools, request.toolChoice);
      const { source, origin } = pickTemplate(undefined, model, traits);
      // As Ollama: tools a template cannot show the model would be silently ignored.
      if (plan.offered.length > 0 && !templateTakesTools(source)) {
        throw new AppError("invalid_request", `"${request.model}" does not support tools`, {
          param: "tools",
        });
      }
      const thinking = planThinking(request.model, source, request.think);
      const render = (messages: readonly ChatMessage[]) =>
        stripLeadingBos(
          renderChatTemplate(source, {
            origin,
            messages,
            tools: plan.offered,
            bosToken: traits.bosToken,
            eosToken: traits.eosToken,
            think: thinking.think,
          }),
          traits,
        );
      const { prompt, dropped } = await fitConversation(
        buildConversation(model, request.messages),
        render,
        fitOptions(model, traits, load, sampling.maxTokens, request.truncate),
      );
      logger.debug(
        {
          model: model.name,
          promptChars: prompt.length,
          tools: plan.offered.length,
          droppedMessages: dropped,
        },
        "chat prompt rendered",
      );
      yield* relay(
        splitThinking(
          engine.generate({
            model,
            prompt,
            sampling,
            load,
            format: plan.forced ? toolCallFormat(plan.callable) : request.format,
            formatAfter: formatAfter(thinking, prompt),
            keepAliveMs: request.keepAliveMs,
            signal: request.signal,
            ...(request.onSent ? { onSent: request.onSent } : {}),
          }),
          thinking,
          prompt,
        ),
        model,
        plan,
      );
    },

    async *complete(request: CompletionRequest) {
      const { model, traits } = await resolve(request.model);
      if (traits.embeddingOnly)
        throw new AppError("invalid_request", `"${request.model}" does not support generate`);
      const { sampling, load } = withModelDefaults(request, model.params);
      let prompt = request.prompt;
      let thinking: ThinkPlan = { think: undefined, tags: undefined };
      if (!request.raw) {
        const { source, origin } = pickTemplate(request.template, model, traits);
        thinking = planThinking(request.model, source, request.think);
        const tokens = { bosToken: traits.bosToken, eosToken: traits.eosToken, origin };
        if (request.suffix) {
          if (!templateSupportsInsert(source, origin)) {
            throw new AppError("invalid_request", `"${request.model}" does not support insert`, {
              param: "suffix",
            });
          }
          prompt = renderInsertTemplate(source, {
            prompt: request.prompt,
            suffix: request.suffix,
            ...tokens,
          });
        } else {
          const system = request.system ?? model.system;
          // Like Ollama: a continuation (`context` given) does not repeat the model's preset messages.
          const preset = request.context ? [] : buildConversation({ ...model, system: undefined }, []);
          const messages: ChatMessage[] = [
            ...(system ? [{ role: "system" as const, content: system }] : []),
            ...preset,
            ...(request.prompt === "" ? [] : [{ role: "user" as const, content: request.prompt }]),
          ];
          prompt = renderChatTemplate(source, { messages, ...tokens, think: thinking.think });
        }
        prompt = stripLeadingBos(prompt, traits);
      } else if (request.think !== undefined && request.think !== false) {
        // A raw prompt has no template to ask for thinking, as in Ollama.
        throw new AppError("invalid_request", `"${request.model}" does not support thinking`, {
          param: "think",
        });
      }
      // Also without `context`: a prompt larger than the context is refused, not silently cut.
      const fitted = await fitContext(
        request.context ?? [],
        prompt,
        fitOptions(model, traits, load, sampling.maxTokens, request.truncate),
      );
      const context = request.context ? fitted : undefined;
      yield* relay(
        splitThinking(
          engine.generate({
            model,
            prompt,
            context,
            sampling,
            load,
            format: request.format,
            formatAfter: formatAfter(thinking, prompt),
            keepAliveMs: request.keepAliveMs,
            signal: request.signal,
            ...(request.onSent ? { onSent: request.onSent } : {}),
          }),
          thinking,
          prompt,
        ),
        model,
        undefined,
      );
    },

    async embed(request: EmbedServiceRequest): Promise<EmbedServiceResult> {
      const { dimensions } = request;
      if (dimensions !== undefined && (!Number.isInteger(dimensions) || dimensions < 1)) {
        throw new AppError("invalid_request", "dimensions must be a positive integer", {
          param: "dimensions",
        });
      }
      admit(request.model);
      const model = await getModel(request.model);
      const result = await engine.embed({
        model,
        input: request.input,
        truncate: request.truncate,
        load: loadOptions(model, request.load),
        keepAliveMs: request.keepAliveMs,
        signal: request.signal,
      });
      const embeddings =
        dimensions === undefined
          ? result.embeddings
          : result.embeddings.map((v) => truncateEmbedding(v, dimensions));
      return {
        model,
        embeddings,
        promptTokens: result.promptTokens,
        totalNs: result.totalNs,
        loadNs: result.loadNs,
      };
    },

    async load(name: string, load: LoadOptions, keepAliveMs?: number) {
      const started = process.hrtime.bigint();
      admit(name);
      const model = await getModel(name);
      const { loadNs } = await engine.load(model, loadOptions(model, load), keepAliveMs);
      return { model, loadNs, totalNs: Number(process.hrtime.bigint() - started) };
    },

    async unload(name: string) {
      const model = await store.get(name);
      await engine.unload(model.name);
      return { model };
    },
  };
}
