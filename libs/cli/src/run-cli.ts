// `flowmesh <command> [options]`. The named command is loaded alone and parses its own options; without a
// known command, a program listing every command prints help.
import { Command } from 'commander';
import { commands, type CommandEntry } from './commands.js';

export async function runCli(argv: string[], entries: CommandEntry[] = commands): Promise<void> {
  const [name, ...rest] = argv;
  const entry = entries.find((e) => e.name === name);
  if (entry) {
    const command = await entry.load();
    command.name(`flowmesh ${entry.name}`);
    await command.parseAsync(rest, { from: 'user' });
    return;
  }
  const program = new Command('flowmesh').description('a distributed flow-processing mesh');
  for (const e of entries) program.command(e.name).description(e.description);
  program.showHelpAfterError();
  await program.parseAsync(argv, { from: 'user' });
}
