/**
 * `aixcl users add|list|rm|passwd|role|activate|disable`: through the running server's admin API with the
 * local token (run/admin.token) when a server runs — so the sessions and open streams a change
 * ends are cut in that server — or directly on the database when none does. Passwords come from
 * the terminal without echo (asked twice), from stdin (`--password-stdin`, or whenever stdin is
 * not a terminal) or from `--password-file`: never from argv, which every local user can read.
 */
import { Argument, Command, InvalidArgumentError, Option } from "commander";
import { createUsersClient, toUserWire, type UsersClient, type UserWire } from "../../api/users-client.js";
import { checkPasswordPolicy } from "../../auth/passwords.js";
import { checkUsername, isRole, type Actor } from "../../auth/users.js";
import type { Role } from "../../store/roles.js";
import { cliConfig, cliIo } from "../io.js";
import type { Config } from "../../config/schema.js";
import { AppError } from "../../errors.js";
import type { Database } from "../../store/types.js";
import { serverElseDatabase } from "../admin-session.js";
import { checkedArg } from "../args.js";
import type { RunCommand } from "../command.js";
import { printErr, printOut } from "../output.js";
import { firstLine, promptHidden, readSecretFile, readStdin } from "../secret-input.js";
import { relativeTime, table } from "../format.js";

/** What the commands do, whichever way they reach the accounts. */
type UserOps = Pick<
  UsersClient,
  "list" | "create" | "remove" | "setRole" | "setPassword" | "activate" | "disable"
>;

/** The audit log's name for changes made by the CLI on the database itself. */
const CLI_ACTOR: Actor = { name: "cli" };

function databaseOps(db: Database): UserOps {
  const service = () => import("../../auth/users.js");
  return {
    list: async () => (await (await service()).listUsers(db)).map(toUserWire),
    create: async (input) => toUserWire(await (await service()).createUser(db, input, CLI_ACTOR)),
    remove: async (name) => (await service()).removeUser(db, name, CLI_ACTOR),
    setRole: async (name, role) => toUserWire(await (await service()).setRole(db, name, role, CLI_ACTOR)),
    setPassword: async (name, password) => (await service()).setPassword(db, name, password, CLI_ACTOR),
    activate: async (name) => toUserWire(await (await service()).setStatus(db, name, "active", CLI_ACTOR)),
    disable: async (name) => toUserWire(await (await service()).setStatus(db, name, "disabled", CLI_ACTOR)),
  };
}

/** Runs `body` through the running server's admin API, else on the database directly. */
function withUsers<T>(config: Readonly<Config>, body: (ops: UserOps) => Promise<T>): Promise<T> {
  return serverElseDatabase(config, { server: createUsersClient, database: databaseOps }, body);
}

const usernameArg = checkedArg(checkUsername);

function roleArg(value: string): Role {
  if (!isRole(value)) throw new InvalidArgumentError("use admin or user");
  return value;
}

interface PasswordOptions {
  passwordStdin?: boolean;
  passwordFile?: string;
}

/** The new password, from `--password-file`, stdin or the terminal (asked twice). */
async function readNewPassword(options: PasswordOptions): Promise<string> {
  let password: string;
  if (options.passwordFile !== undefined) {
    password = await readSecretFile(options.passwordFile, "--password-file");
  } else if (options.passwordStdin === true || cliIo().stdin.isTTY !== true) {
    password = firstLine(await readStdin());
  } else {
    password = await promptHidden("password: ");
    if ((await promptHidden("again: ")) !== password) {
      throw new AppError("invalid_request", "the passwords do not match");
    }
  }
  if (password === "") throw new AppError("invalid_request", "no password given");
  // Before any server or database is touched: a weak password fails fast and changes nothing.
  checkPasswordPolicy(password);
  return password;
}

function withPasswordOptions(command: Command): Command {
  return command
    .option("--password-stdin", "read the password from stdin (first line)")
    .option("--password-file <path>", "read the password from a file (first line)");
}

function listTable(users: readonly UserWire[]): string {
  const rows = [["USERNAME", "ROLE", "STATUS", "CREATED"]];
  for (const user of users) {
    rows.push([user.username, user.role, user.status, relativeTime(new Date(user.created_at))]);
  }
  return table(rows);
}

function addCommand(run: RunCommand): Command {
  return withPasswordOptions(
    new Command("add")
      .description("create a user (password from the terminal, stdin or a file)")
      .argument("<username>", "1-64 characters of A-Z a-z 0-9 . _ @ -", usernameArg)
      .addOption(
        new Option("--role <role>", "admin or user (default user)")
          .choices(["admin", "user"])
          .argParser(roleArg),
      ),
  ).action((username: string, options: PasswordOptions & { role?: Role }) =>
    run(async () => {
      const config = cliConfig();
      const password = await readNewPassword(options);
      const user = await withUsers(config, (ops) =>
        ops.create({ username, password, role: options.role ?? "user" }),
      );
      await printOut(`created ${user.role} ${user.username}`);
      return 0;
    }),
  );
}

function listCommand(run: RunCommand): Command {
  return new Command("list")
    .alias("ls")
    .description("list users")
    .option("--json", "print the users as JSON")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const users = await withUsers(cliConfig(), (ops) => ops.list());
        await printOut(options.json === true ? JSON.stringify(users, null, 2) : listTable(users));
        return 0;
      }),
    );
}

function removeCommand(run: RunCommand): Command {
  return new Command("rm")
    .description("delete a user with their sessions, keys and chats; their open requests stop")
    .argument("<username>", "the user", usernameArg)
    .action((username: string) =>
      run(async () => {
        await withUsers(cliConfig(), (ops) => ops.remove(username));
        await printOut(`removed ${username}`);
        return 0;
      }),
    );
}

function passwdCommand(run: RunCommand): Command {
  return withPasswordOptions(
    new Command("passwd")
      .description("set a user's password; their sessions end")
      .argument("<username>", "the user", usernameArg),
  ).action((username: string, options: PasswordOptions) =>
    run(async () => {
      const config = cliConfig();
      const password = await readNewPassword(options);
      await withUsers(config, (ops) => ops.setPassword(username, password));
      await printErr(`password changed for ${username}; their sessions have ended`);
      return 0;
    }),
  );
}

function roleCommand(run: RunCommand): Command {
  return new Command("role")
    .description("set a user's role; their sessions end")
    .argument("<username>", "the user", usernameArg)
    .addArgument(new Argument("<role>", "admin or user").choices(["admin", "user"]).argParser(roleArg))
    .action((username: string, role: Role) =>
      run(async () => {
        const user = await withUsers(cliConfig(), (ops) => ops.setRole(username, role));
        await printOut(`${user.username} is now ${user.role}`);
        return 0;
      }),
    );
}

function activateCommand(run: RunCommand): Command {
  return new Command("activate")
    .description("let a pending (signed-up) user log in")
    .argument("<username>", "the user", usernameArg)
    .action((username: string) =>
      run(async () => {
        const user = await withUsers(cliConfig(), (ops) => ops.activate(username));
        await printOut(`${user.username} is ${user.status}`);
        return 0;
      }),
    );
}

function disableCommand(run: RunCommand): Command {
  return new Command("disable")
    .description("stop a user logging in and end their sessions (activate enables them again)")
    .argument("<username>", "the user", usernameArg)
    .action((username: string) =>
      run(async () => {
        const user = await withUsers(cliConfig(), (ops) => ops.disable(username));
        await printOut(`${user.username} is ${user.status}`);
        return 0;
      }),
    );
}

/** `aixcl users`: accounts for the web UI and the admin API. */
export function usersCommand(run: RunCommand): Command {
  const users = new Command("users").description(
    "manage users (add, list, rm, passwd, role, activate, disable)",
  );
  users.addCommand(addCommand(run));
  users.addCommand(listCommand(run));
  users.addCommand(removeCommand(run));
  users.addCommand(passwdCommand(run));
  users.addCommand(roleCommand(run));
  users.addCommand(activateCommand(run));
  users.addCommand(disableCommand(run));
  return users;
}
