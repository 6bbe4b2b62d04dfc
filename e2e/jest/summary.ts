// Prints the outcome of a jest run (from its --json output) as one plain closing line: "N passed, N failed".
import { readFileSync } from 'node:fs';

interface JestResults {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numRuntimeErrorTestSuites: number;
  success: boolean;
}

const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: summary.ts <jest --json output file>');
const r = JSON.parse(readFileSync(file, 'utf8')) as JestResults;
const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
console.log(
  `tests: ${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests + r.numTodoTests} skipped`,
);
process.exit(r.success && failed === 0 ? 0 : 1);
