// Runs one CLI command and turns every failure into a message on stderr and an exit code: no stack traces.
import { parseCliArgs } from './args.ts';
import type { CliCommandName } from './usage.ts';
import { runConnect } from './connect.ts';
import { runDisconnect } from './disconnect.ts';
import { CliError, exitCodes, type ExitCode } from './exit.ts';
import { runGitopsSecret } from './gitopssecret.ts';
import { runImport } from './import.ts';
import { processIO, type CliIO } from './output.ts';
import { runStatus } from './status.ts';
import { commandUsage, exitCodesUsage } from './usage.ts';

export async function runCli(
  command: CliCommandName,
  argv: string[],
  io: CliIO = processIO,
): Promise<ExitCode> {
  try {
    const parsed = parseCliArgs(command, argv);
    switch (parsed.command) {
      case 'help':
        io.stdout(
          `usage: ctp-connector ${commandUsage[parsed.topic]?.trimStart() ?? ''}\n\n${exitCodesUsage}`,
        );
        break;
      case 'connect':
        await runConnect(parsed.options, io);
        break;
      case 'disconnect':
        await runDisconnect(parsed.options, io);
        break;
      case 'status':
        await runStatus(parsed.options, io);
        break;
      case 'import':
        await runImport(parsed.options, io);
        break;
      case 'gitops-secret':
        await runGitopsSecret(parsed.options, io);
        break;
    }
    return exitCodes.ok;
  } catch (err) {
    io.stderr(`ctp-connector ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof CliError) {
      if (err.exitCode === exitCodes.usage) io.stderr(`Run "ctp-connector ${command} --help" for usage.\n`);
      return err.exitCode;
    }
    return exitCodes.failure;
  }
}
