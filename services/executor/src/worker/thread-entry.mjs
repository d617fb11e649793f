// Entry of a batch thread. Plain JavaScript that loads the TypeScript thread code through require, as
// piscina did: the thread's `--import tsx` hooks load TypeScript for require, not for a worker's own entry.
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./batch-worker.ts');
