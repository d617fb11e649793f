// `node --import tsx services/executor/src/main.ts [options]`: one executor process.
import { executorCommand } from './executor-command.js';

await executorCommand().parseAsync(process.argv);
