/**
 * When did a secret's AWSCURRENT label move to its current version? Secrets Manager keeps no
 * record of it: DescribeSecret's LastChangedDate is "modified in any way" (AWS nowhere says a
 * label's move updates it), LastRotatedDate is documented both as a rotation's start and its end,
 * and the version's CreatedDate is the AWSPENDING write, before the move. A container created
 * after a time that is earlier than the move may still have read the old value, so the watcher
 * judges by the tightest time that is provably NOT earlier than the move. Erring late costs a
 * restart; erring early, an outage.
 */

import type { MoveTime } from '../domain/index.js';

/** How far LastChangedDate must be past the version's creation to say something changed after. */
const WRITE_STAMP_MS = 1_000;

/**
 * The key of one move of one secret (its ARN names the region and account): to `version`, from
 * `previous` (AWSPREVIOUS). Moving back to an earlier version (V, then U, then V again) is a new
 * move, not the first one again: containers started while U was current hold U.
 */
export function moveKey(secretArn: string, version: string, previous: string | null): string {
  return `${secretArn}|${version}|${previous ?? '-'}`;
}

/**
 * The tightest time not earlier than the move that AWS's records give: the move's record in hand
 * (exact; the caller asks nothing else then); else LastChangedDate when it is at least a second later than the version's creation (something
 * changed the secret after the version was written: the move, when a move updates it, as real
 * captures suggest; a metadata change inside that window would date the move early, a Known
 * limit); else the look's own time, taken after the reply that showed the version current.
 */
export function moveTime(facts: {
  eventMove: string | null;
  lastChanged: string | null;
  created: string | null;
  lookedAt: string;
}): MoveTime {
  const candidates: MoveTime[] = [{ at: facts.lookedAt, basis: 'look' }];
  if (facts.eventMove) candidates.push({ at: facts.eventMove, basis: 'event' });
  // A second later at least: the AWSPENDING write itself may stamp LastChangedDate a few
  // milliseconds after the version's CreatedDate, which proves nothing about the move.
  if (
    facts.lastChanged &&
    facts.created &&
    Date.parse(facts.lastChanged) >= Date.parse(facts.created) + WRITE_STAMP_MS
  )
    candidates.push({ at: facts.lastChanged, basis: 'last-changed' });
  return candidates.reduce((best, next) => (next.at < best.at ? next : best));
}
