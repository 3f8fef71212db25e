/**
 * The assertion functions of `@std/assert` that this project's tests use, built on
 * `node:assert` so that tests run where the JSR registry cannot be reached. Import it
 * as `@std/assert` (deno.json maps that name here).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * assertEquals(1 + 1, 2);
 * ```
 * @module
 */
import nodeAssert from "node:assert";

/** Raised when an assertion fails.
 *
 * @example
 * ```ts
 * import { AssertionError } from "@std/assert";
 * const error = new AssertionError("values differ");
 * ```
 */
export class AssertionError extends Error {
  /** Creates an assertion error with the given message.
   *
   * @example
   * ```ts
   * import { AssertionError } from "@std/assert";
   * throw new AssertionError("values differ");
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function wrap(run: () => void, message?: string): void {
  try {
    run();
  } catch (error) {
    if (error instanceof nodeAssert.AssertionError) {
      // As @std/assert does: the caller's message first, then what differs.
      throw new AssertionError(message ? `${message}: ${error.message}` : error.message);
    }
    throw error;
  }
}

/** Asserts that a value is truthy.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * assert(1 < 2);
 * ```
 */
export function assert(expr: unknown, msg?: string): asserts expr {
  if (!expr) throw new AssertionError(msg ?? "Expected a truthy value");
}

/** Asserts deep equality of two values.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * assertEquals({ a: [1] }, { a: [1] });
 * ```
 */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  wrap(() => nodeAssert.deepStrictEqual(actual, expected), msg);
}

/** Asserts that two values are not deeply equal.
 *
 * @example
 * ```ts
 * import { assertNotEquals } from "@std/assert";
 * assertNotEquals(1, 2);
 * ```
 */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  wrap(() => nodeAssert.notDeepStrictEqual(actual, expected), msg);
}

/** Asserts strict (`Object.is`) equality.
 *
 * @example
 * ```ts
 * import { assertStrictEquals } from "@std/assert";
 * assertStrictEquals("a", "a");
 * ```
 */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  wrap(() => nodeAssert.strictEqual(actual, expected), msg);
}

/** Asserts that a value is neither `null` nor `undefined`.
 *
 * @example
 * ```ts
 * import { assertExists } from "@std/assert";
 * assertExists(0);
 * ```
 */
export function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T> {
  if (actual === null || actual === undefined) {
    throw new AssertionError(msg ?? `Expected a value, got ${actual}`);
  }
}

/** Asserts that `actual` is greater than `expected`.
 *
 * @example
 * ```ts
 * import { assertGreater } from "@std/assert";
 * assertGreater(2, 1);
 * ```
 */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual > expected)) throw new AssertionError(msg ?? `Expected ${actual} > ${expected}`);
}

/** Asserts that `actual` is greater than or equal to `expected`.
 *
 * @example
 * ```ts
 * import { assertGreaterOrEqual } from "@std/assert";
 * assertGreaterOrEqual(2, 2);
 * ```
 */
export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual >= expected)) throw new AssertionError(msg ?? `Expected ${actual} >= ${expected}`);
}

/** Asserts that `actual` is less than `expected`.
 *
 * @example
 * ```ts
 * import { assertLess } from "@std/assert";
 * assertLess(1, 2);
 * ```
 */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual < expected)) throw new AssertionError(msg ?? `Expected ${actual} < ${expected}`);
}

/** Asserts that `actual` is less than or equal to `expected`.
 *
 * @example
 * ```ts
 * import { assertLessOrEqual } from "@std/assert";
 * assertLessOrEqual(2, 2);
 * ```
 */
export function assertLessOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual <= expected)) throw new AssertionError(msg ?? `Expected ${actual} <= ${expected}`);
}

/** Asserts that a string contains a substring.
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * assertStringIncludes("hello", "ell");
 * ```
 */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(
      msg ?? `Expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`,
    );
  }
}

/** Asserts that a string matches a regular expression.
 *
 * @example
 * ```ts
 * import { assertMatch } from "@std/assert";
 * assertMatch("abc", /b/);
 * ```
 */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  wrap(() => nodeAssert.match(actual, expected), msg);
}

/** Asserts that a value is an instance of a class.
 *
 * @example
 * ```ts
 * import { assertInstanceOf } from "@std/assert";
 * assertInstanceOf(new Date(), Date);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function assertInstanceOf<T extends abstract new (...args: any[]) => unknown>(
  actual: unknown,
  expectedType: T,
  msg?: string,
): asserts actual is InstanceType<T> {
  if (!(actual instanceof expectedType)) {
    throw new AssertionError(msg ?? `Expected an instance of ${expectedType.name}`);
  }
}

/** Fails unconditionally.
 *
 * @example
 * ```ts ignore
 * import { fail } from "@std/assert";
 * fail("unreachable");
 * ```
 */
export function fail(msg?: string): never {
  throw new AssertionError(msg ?? "Failed assertion");
}

type ErrorClass<E extends Error> = new (...args: never[]) => E;

function checkError<E extends Error>(
  error: unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
): E {
  if (ErrorClass && !(error instanceof ErrorClass)) {
    throw new AssertionError(
      `Expected error to be instance of "${ErrorClass.name}", but was "${
        error instanceof Error ? error.constructor.name : typeof error
      }": ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (
    msgIncludes !== undefined && !(error instanceof Error && error.message.includes(msgIncludes))
  ) {
    throw new AssertionError(
      `Expected error message to include ${JSON.stringify(msgIncludes)}, but got ${
        JSON.stringify(error instanceof Error ? error.message : String(error))
      }`,
    );
  }
  return error as E;
}

/** Asserts that a function throws, and returns the error.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * assertThrows(() => JSON.parse("{"), SyntaxError);
 * ```
 */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
): E {
  try {
    fn();
  } catch (error) {
    return checkError(error, ErrorClass, msgIncludes);
  }
  throw new AssertionError("Expected function to throw");
}

/** Asserts that a promise (or async function) rejects, and returns the error.
 *
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * await assertRejects(() => Promise.reject(new TypeError("x")), TypeError);
 * ```
 */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    return checkError(error, ErrorClass, msgIncludes);
  }
  throw new AssertionError("Expected promise to reject");
}
