/**
 * Which fact decided the time of a change, for the reason a consumer is judged by:
 * - `event`: the move's own record in hand (the event of the move to this version);
 * - `last-changed`: the secret's LastChangedDate, later than the version's creation;
 * - `first-sight`: the first time the watcher saw this version current, kept in its state table;
 * - `look`: nothing proves an earlier time: the time of this look;
 * - `last-modified`: a parameter's LastModifiedDate (exact: a new version is the change).
 */
export type TimeBasis = 'event' | 'last-changed' | 'first-sight' | 'look' | 'last-modified';

export interface MoveTime {
  at: string;
  basis: TimeBasis;
}

/**
 * Where the first time established for each secret version's move is kept (the state table), so
 * that every later look, event, follow-up and sweep judges that version by the same time.
 */
export interface MoveMemory {
  /** The kept times of these keys (`moveKey`); keys with none are absent. */
  recall(keys: string[]): Promise<Map<string, MoveTime>>;
  /** Keeps `time` for `key` unless a time is kept already; returns the time kept. */
  keep(key: string, time: MoveTime): Promise<MoveTime>;
}
