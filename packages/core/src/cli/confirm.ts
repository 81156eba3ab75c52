import { LifeboatError } from '../errors.js';

/**
 * Destructive commands ask on a TTY, and without one they need --yes.
 * A declined prompt changes nothing.
 */
export async function confirmDestructive(action: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new LifeboatError('CONFIRMATION_REQUIRED', `Not confirmed: ${action} (no terminal to ask, nothing was changed).`, {
      hint: 'Run it again with --yes to confirm.',
    });
  }
  const { confirm, isCancel } = await import('@clack/prompts');
  const answer = await confirm({ message: `${action[0]!.toUpperCase()}${action.slice(1)}?`, initialValue: false, output: process.stderr });
  if (isCancel(answer) || answer !== true) {
    throw new LifeboatError('CONFIRMATION_REQUIRED', 'Declined; nothing was changed.');
  }
}
