import type { HttpBindings } from "@hono/node-server";
import type { Principal } from "../auth/types.js";
import type { BodyLimits } from "./middleware/body.js";

/**
 * The Hono environment of the aixcl app. `Bindings` are the Node request/response objects
 * (absent when a test calls `app.request()` directly, hence optional use); `Variables` are
 * values middleware hands to routes.
 */
export interface AppEnv {
  Bindings: Partial<HttpBindings>;
  Variables: {
    /** The id echoed in `x-request-id` (the client's when it sent a sane one). */
    requestId: string;
    /** Set by bodyLimit() for readJsonBody(); absent on exempt paths (blob uploads). */
    bodyLimits?: BodyLimits;
    /** Who the request acts as, set by the authenticate middleware; absent when anonymous. */
    principal?: Principal;
    /**
     * Stops tracking this request for revocation: a route that ends the very credential the
     * request came with (logout, an admin changing their own account) calls it first, so its own
     * answer is not cut.
     */
    untrackRequest?: () => void;
    /**
     * Aborted, with a `shutting_down` AppError, when the server closes and this request is still
     * running after the drain period: linkAbort() ends its generation with that error record.
     */
    cut?: AbortSignal;
  };
}
