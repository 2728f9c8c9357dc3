// `/settings`: what a chat's admins chose for it. Today one setting,
// remember-faces (off by default): whether faces nobody taught are kept, as
// embeddings and one small crop per person, for /who. Turning it off erases
// everything it kept, in the same write.
import { UsageError, UserError } from '../errors.ts';
import type { ConceptStore } from '../memory/store.ts';
import type { Turn } from './turn.ts';

const USAGE = 'Usage: /settings to see them, /settings remember-faces on|off to change one (admins only).';

export async function settings(store: ConceptStore, turn: Turn, rest: string): Promise<string> {
  const words = rest.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) {
    const on = (await store.scopeMemory(turn.scope))?.rememberFaces ?? false;
    return [
      'Settings here:',
      `• remember-faces: ${on ? 'on' : 'off'}. When on, I keep the faces of people I don't know (no photos: what tells ` +
        'faces apart and one small face crop per person), and /who asks who they are.',
      'Admins change it with /settings remember-faces on|off.',
    ].join('\n');
  }
  const [name, value] = words;
  if (name !== 'remember-faces' || words.length !== 2 || (value !== 'on' && value !== 'off'))
    throw new UsageError(USAGE);
  if (!turn.isScopeAdmin) throw new UserError('Sorry, only an admin of this chat can change its settings.');
  if (value === 'on') {
    await store.changeScopeMemory(turn.scope, (memory) => ({
      rememberFaces: true,
      faceClusters: memory?.faceClusters ?? [],
    }));
    return (
      "Done: from now on I remember the faces of people I don't know in the photos you send me here " +
      '(no photos, only what tells faces apart and one small crop per person). /who lists the people I have seen in ' +
      'several photos; /settings remember-faces off forgets them all.'
    );
  }
  // Off is the default and the record holds nothing else yet: erasing it erases every unknown face with it.
  await store.changeScopeMemory(turn.scope, () => null);
  return "Done: I no longer remember faces I don't know here, and I forgot the ones I had seen.";
}
