/**
 * Prints the executable of the runtime that runs it (Node.js or Bun): the bench times whole
 * runs of that, not of a wrapper such as npx.
 *
 * @module
 */
import process from "node:process";

console.log(process.execPath);
