import { useState } from "preact/hooks";
import * as api from "../api/chat-api";
import { ApiError, describeError } from "../api/errors";
import type { Me } from "../api/types";
import type { ThemeChoice } from "../preferences";
import { ThemeToggle } from "./ThemeToggle";

interface LoginPageProps {
  onLogin: (me: Me) => void;
  theme: ThemeChoice;
  onToggleTheme: () => void;
}

function loginError(error: unknown): string {
  if (error instanceof ApiError && (error.status === 401 || error.code === "unauthorized")) {
    return "Wrong username or password.";
  }
  if (error instanceof ApiError && error.code === "account_pending") return error.message;
  return describeError(error);
}

export function LoginPage({ onLogin, theme, onToggleTheme }: LoginPageProps) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setPending(true);
    setError(null);
    try {
      await api.login(username.trim(), password);
      const me = await api.getMe();
      if (!me) throw new Error("the server did not keep the session (are cookies blocked?)");
      onLogin(me);
    } catch (caught) {
      setError(loginError(caught));
      setPending(false);
    }
  };

  return (
    <div class="login-page">
      <div class="login-theme">
        <ThemeToggle theme={theme} onToggle={onToggleTheme} />
      </div>
      <main class="login-card">
        <div class="brand brand-large" aria-hidden="true">
          <span class="brand-mark">a</span> aixcl
        </div>
        <h1 class="login-title">Sign in</h1>
        <form class="login-form" data-testid="login-form" onSubmit={(e) => void submit(e)} noValidate>
          <label class="field">
            <span class="field-label">Username</span>
            <input
              name="username"
              data-testid="login-username"
              autocomplete="username"
              autoFocus
              required
              value={username}
              onInput={(e) => setUsername(e.currentTarget.value)}
            />
          </label>
          <label class="field">
            <span class="field-label">Password</span>
            <input
              name="password"
              type="password"
              data-testid="login-password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </label>
          {error !== null && (
            <p class="form-error" role="alert" data-testid="login-error">
              {error}
            </p>
          )}
          <button
            type="submit"
            class="button button-primary button-block"
            data-testid="login-submit"
            disabled={pending || username.trim() === "" || password === ""}
          >
            {pending ? "Signing in…" : "Sign in"}
          </button>
        </form>
        <p class="login-hint">
          First time here? The first administrator's credentials are shown on the server by{" "}
          <code>aixcl vault credentials</code>.
        </p>
      </main>
    </div>
  );
}
