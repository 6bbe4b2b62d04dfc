// Exit codes of the CLI commands and the error that carries one. Messages are for humans: the entry point prints
// them without a stack trace.

export const exitCodes = {
  /** Done. */
  ok: 0,
  /** The cluster refused or the connection failed (stalled, finalization blocked, API errors). */
  failure: 1,
  /** Invalid arguments, flags or input files; nothing was changed. */
  usage: 2,
  /** The wait ran out (--timeout); what was created stays and keeps converging. */
  timeout: 3,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = exitCodes.failure) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export const usageError = (message: string): CliError => new CliError(message, exitCodes.usage);
