import { AppError } from "../../src/errors.js";

/**
 * The AppError `fn` throws. Fails the test when `fn` returns, and rethrows anything that is not
 * an AppError so the test reports the real failure.
 */
export function thrownAppError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected an AppError");
}

/** The AppError `promise` rejects with; same rules as thrownAppError. */
export async function rejectedAppError(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected an AppError");
}
