// Entry point: `node --import tsx services/gateway/src/main.ts [options]` (same as `flowmesh gateway`).
import { gatewayCommand } from './gateway-command.js';

await gatewayCommand().parseAsync(process.argv);
