// Structured JSON logs. Secret material never reaches them: known credential fields are redacted wherever they
// appear, and callers log names and references, never Secret data.
import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths pino censors in every log record. */
export const redactedPaths = [
  'token',
  '*.token',
  '*.*.token',
  'bearerToken',
  '*.bearerToken',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'data',
  '*.data',
  '*.*.data',
  'stringData',
  '*.stringData',
  'kubeconfig',
  '*.kubeconfig',
  'keyPem',
  '*.keyPem',
  'client-key-data',
  '*.client-key-data',
  '*.*.client-key-data',
];

export function createLogger(
  options: { level?: string; name?: string } = {},
  destination?: pino.DestinationStream,
): Logger {
  return pino(
    {
      name: options.name ?? 'ctp-connector',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: redactedPaths, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
