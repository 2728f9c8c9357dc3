// The command-line surface of `myvlm eval teach` (the experiment itself is
// exercised by miniature.test.ts).
import { describe, expect, it, vi } from 'vitest';
import { evalTeachCommand } from '../../src/cli/eval-teach.ts';
import { UserError } from '../../src/errors.ts';

describe('myvlm eval teach', () => {
  it('prints its usage with --help', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await evalTeachCommand(['--help'])).toBe(0);
      expect(String(write.mock.calls[0][0])).toMatch(/myvlm eval teach --tiny/);
    } finally {
      write.mockRestore();
    }
  });

  it('asks for --tiny and refuses bad numbers with a plain message', async () => {
    await expect(evalTeachCommand([])).rejects.toThrow(UserError);
    await expect(evalTeachCommand([])).rejects.toThrow(/add --tiny/);
    await expect(evalTeachCommand(['--tiny', '--seeds', '0'])).rejects.toThrow(
      /--seeds takes a whole number of at least 1/,
    );
    await expect(evalTeachCommand(['--tiny', '--steps', 'many'])).rejects.toThrow(/--steps/);
    await expect(evalTeachCommand(['--tiny', '--json', '--markdown'])).rejects.toThrow(/--json or --markdown/);
  });
});
