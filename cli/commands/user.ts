// STUB: replaced by the real command.
import type { Command } from '../main';

export const command: Command = {
  summary: 'not implemented yet',
  async run() {
    process.stderr.write('shadowim: user is not implemented yet\n');
    return 1;
  },
};
