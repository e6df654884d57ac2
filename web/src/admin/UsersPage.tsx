import { useEffect, useState } from "preact/hooks";
import * as api from "../api/admin-api";
import type { Role, User } from "../api/admin-types";
import { formatTime } from "./format";
import { generatePassword } from "./password";
import { useActions, useLoad } from "./use-load";
import { Badge, toneOf } from "./ui/Badge";
import { useConfirm } from "./ui/ConfirmDialog";
import { DataTable, type Column } from "./ui/DataTable";
import { ErrorNotice } from "./ui/ErrorNotice";
import { PageHeader } from "./ui/PageHeader";
import { SecretOnce } from "./ui/SecretOnce";

/** Accounts: create (a generated password, shown once), role, disable, reset, delete, sign-ups. */
export function UsersPage({ self }: { self: string | null }) {
  const users = useLoad(api.listUsers, []);
  const signup = useLoad(api.getSignup, []);
  const actions = useActions();
  const confirm = useConfirm();
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  // Shown as toggled at once; put back if the server refuses.
  const [signupOn, setSignupOn] = useState<boolean | undefined>(undefined);
  useEffect(() => setSignupOn(signup.data), [signup.data]);

  const act = (action: () => Promise<unknown>) => void actions.run(action, users.reload);
  const resetPassword = (user: User) => {
    const password = generatePassword();
    void actions.run(
      () => api.setPassword(user.username, password),
      () => setSecret({ label: `New password for ${user.username}`, value: password }),
    );
  };

  const columns: Column<User>[] = [
    { header: "User", cell: (u) => <strong>{u.username}</strong> },
    {
      header: "Role",
      cell: (u) => (
        <select
          class="inline-select"
          data-testid="user-role"
          aria-label={`Role of ${u.username}`}
          value={u.role}
          disabled={actions.busy}
          onChange={(e) => act(() => api.setRole(u.username, e.currentTarget.value as Role))}
        >
          <option value="user">user</option>
          <option value="admin">admin</option>
        </select>
      ),
    },
    { header: "Status", cell: (u) => <Badge tone={toneOf(u.status)}>{u.status}</Badge> },
    {
      header: "Last login",
      cell: (u) => (u.last_login_at === undefined ? "—" : formatTime(u.last_login_at)),
    },
    { header: "Created", cell: (u) => formatTime(u.created_at) },
    { header: "Actions", class: "actions", cell: (u) => userActions(u) },
  ];

  // A render function, not a component: a component declared here would remount every render.
  function userActions(user: User) {
    const button = (testId: string, label: string, onClick: () => void, danger = false) => (
      <button
        type="button"
        class={`button button-small${danger ? " button-danger-text" : ""}`}
        data-testid={testId}
        disabled={actions.busy}
        aria-label={`${label} ${user.username}`}
        onClick={onClick}
      >
        {label}
      </button>
    );
    const remove = (verb: string) => () =>
      confirm.ask({
        title: `${verb} ${user.username}?`,
        body:
          verb === "Reject"
            ? "The sign-up request is deleted."
            : "The account, its sessions and API keys are deleted. Their chats are deleted too.",
        confirm: verb,
        onConfirm: () => act(() => api.deleteUser(user.username)),
      });
    if (user.status === "pending") {
      return (
        <div class="row-actions">
          {button("user-approve", "Approve", () => act(() => api.activateUser(user.username)))}
          {button("user-reject", "Reject", remove("Reject"), true)}
        </div>
      );
    }
    const me = user.username === self;
    return (
      <div class="row-actions">
        {user.status === "disabled"
          ? button("user-enable", "Enable", () => act(() => api.activateUser(user.username)))
          : !me && button("user-disable", "Disable", () => act(() => api.disableUser(user.username)))}
        {button("user-reset-password", "Reset password", () => resetPassword(user))}
        {!me && button("user-delete", "Delete", remove("Delete"), true)}
      </div>
    );
  }

  return (
    <div class="admin-page" data-testid="users-page">
      <PageHeader title="Users" intro="Accounts that can sign in, their roles, and sign-up requests.">
        <label class="switch" data-testid="signup-setting">
          <input
            type="checkbox"
            data-testid="signup-toggle"
            checked={signupOn ?? false}
            disabled={signupOn === undefined}
            onChange={(e) => {
              const enabled = e.currentTarget.checked;
              setSignupOn(enabled);
              void actions.run(() => api.setSignup(enabled)).then((ok) => ok || setSignupOn(!enabled));
            }}
          />
          <span>Allow sign-up requests</span>
        </label>
      </PageHeader>
      <ErrorNotice error={users.error ?? signup.error} />
      <ErrorNotice error={actions.error} onDismiss={actions.clear} />
      {secret && <SecretOnce label={secret.label} value={secret.value} onDismiss={() => setSecret(null)} />}
      <CreateUserForm
        busy={actions.busy}
        onCreate={(username, role) => {
          const password = generatePassword();
          void actions.run(
            () => api.createUser(username, password, role),
            () => {
              setSecret({ label: `Password for ${username}`, value: password });
              users.reload();
            },
          );
        }}
      />
      <DataTable
        caption="Users"
        testId="user-table"
        columns={columns}
        rows={users.data}
        rowKey={(u) => u.id}
        rowAttrs={(u) => ({
          "data-testid": "user-row",
          "data-username": u.username,
          "data-status": u.status,
          "data-role": u.role,
        })}
        empty="No users."
      />
      {confirm.dialog}
    </div>
  );
}

function CreateUserForm(props: { busy: boolean; onCreate: (username: string, role: Role) => void }) {
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<Role>("user");
  return (
    <form
      class="inline-form"
      data-testid="user-create-form"
      aria-label="Create a user"
      onSubmit={(e) => {
        e.preventDefault();
        props.onCreate(username.trim(), role);
        setUsername("");
      }}
    >
      <label class="field">
        <span class="field-label">New user</span>
        <input
          data-testid="user-create-username"
          autocomplete="off"
          required
          placeholder="username"
          value={username}
          onInput={(e) => setUsername(e.currentTarget.value)}
        />
      </label>
      <label class="field">
        <span class="field-label">Role</span>
        <select
          data-testid="user-create-role"
          value={role}
          onChange={(e) => setRole(e.currentTarget.value as Role)}
        >
          <option value="user">user</option>
          <option value="admin">admin</option>
        </select>
      </label>
      <button
        type="submit"
        class="button button-primary"
        data-testid="user-create-submit"
        disabled={props.busy || username.trim() === ""}
      >
        Create with a generated password
      </button>
    </form>
  );
}
