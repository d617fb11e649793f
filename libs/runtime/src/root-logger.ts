// The logger that handler adapters derive per-call loggers from. The service host installs its own logger
// here at construction, so handlers need no logger parameter; tests get a silent default.
import { pino, type Logger } from 'pino';

let root: Logger = pino({ level: 'silent' });

export function setRootLogger(logger: Logger): void {
  root = logger;
}

export function getRootLogger(): Logger {
  return root;
}
