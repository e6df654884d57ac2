import { ApiError, describeError } from "../../api/errors";

/** The words of an error; a route the server does not have says so plainly. */
export function adminErrorText(error: unknown): string {
  if (error instanceof ApiError && error.status === 404 && /page not found/.test(error.message)) {
    return "This server does not offer this yet (404): it may be an older aixcl version.";
  }
  return describeError(error);
}

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
      <span>{adminErrorText(error)}</span>
      {onDismiss && (
        <button type="button" class="button button-small button-ghost" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
