import { ApiError, describeError } from "../../api/errors";

/** Whether an error says the account is not (or no longer) an admin. */
export const isForbidden = (error: unknown) => error instanceof ApiError && error.status === 403;

/**
 * An error of an admin page in words: "Admin rights required" for a 403, the server's message
 * otherwise. Nothing when there is no error. (A 401 never gets here for long: the app goes to
 * the login page.)
 */
export function ErrorNotice({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (error === null || error === undefined) return null;
  if (isForbidden(error)) {
    return (
      <div class="notice notice-error" role="alert" data-testid="admin-forbidden">
        <strong>Admin rights required.</strong> This page is for administrators only.
      </div>
    );
  }
  return (
    <div class="notice notice-error" role="alert" data-testid="admin-error">
      <span>{describeError(error)}</span>
      {onDismiss && (
        <button type="button" class="button button-small button-ghost" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
