// Who may change what: a concept's owner, or an administrator of its scope
// (as the adapter reports). Everyone in the scope may use and list it.
import { UserError } from '../errors.ts';
import type { ConceptRecord } from '../memory/concept.ts';
import type { Turn } from './turn.ts';

export function assertMayChange(turn: Turn, concept: ConceptRecord, action: string): void {
  if (concept.owner === turn.user || turn.isScopeAdmin) return;
  throw new UserError(
    `Sorry, only the person who taught me ${concept.name} (or an admin here) can ${action} ${concept.name}.`,
  );
}
