/**
 * commander argument parsers built from the domain's own checks: a value the check refuses is a
 * usage error (exit 2, its message shown) before anything touches the server, store or database.
 */
import { InvalidArgumentError } from "commander";
import { isAppError } from "../errors.js";

/** A parser that runs `check` (which throws AppError on a bad value) and passes the value through. */
export function checkedArg(check: (value: string) => unknown): (value: string) => string {
  return (value) => {
    try {
      check(value);
    } catch (error) {
      if (isAppError(error)) throw new InvalidArgumentError(error.message);
      throw error;
    }
    return value;
  };
}
