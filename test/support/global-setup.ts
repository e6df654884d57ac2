/**
 * Vitest global setup: writes the common test models once before any worker starts, so test
 * files do not all generate them at the same moment on the 2 shared cores (the factories are
 * idempotent and cached, so workers calling them again just get the paths), and starts the one
 * real PostgreSQL server of this run, whose superuser test files reach through `inject("postgres")`.
 */
import type { TestProject } from "vitest/node";
import { adminOf, startPostgres, type PostgresAdmin } from "./postgres.js";
import { scriptedModel, tinyModel } from "./test-models.js";

declare module "vitest" {
  export interface ProvidedContext {
    postgres: PostgresAdmin;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const starting = startPostgres();
  try {
    await Promise.all([tinyModel(), scriptedModel("hello", ["Hello", " world", "!"])]);
  } catch (error) {
    await starting.then((server) => server.stop()).catch(() => undefined);
    throw error;
  }
  const server = await starting;
  project.provide("postgres", adminOf(server));
  return server.stop;
}
