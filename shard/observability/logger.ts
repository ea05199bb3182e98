// pino logger with credentials redacted wherever they could appear.
import pino from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["sec-websocket-protocol"]',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'adminKey',
  '*.adminKey',
  'apiKey',
  '*.apiKey',
];

export function createLogger(opts: { level: string; base?: Record<string, unknown>; destination?: pino.DestinationStream }): pino.Logger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: opts.base ?? null,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination === undefined ? pino(options) : pino(options, opts.destination);
}
