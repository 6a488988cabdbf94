export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** One line per event on stderr, with a level gate checked before any formatting. */
export function createLogger(level: LogLevel): Logger {
  const at = ORDER[level];
  const line = (name: Exclude<LogLevel, 'silent'>) =>
    ORDER[name] >= at ? (message: string) => process.stderr.write(`${new Date().toISOString()} ${name.padEnd(5)} ${message}\n`) : () => {};
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}
