// `rotation-watcher halt` and `resume`: a person stops the staged restarts of a value's newest
// open rotation, or lets them go on once the value is fixed. Only the record changes here; the
// watcher's next look at the record (its follow-up) or the next sweep acts on it.
import type { AwsClients } from '../aws/index.js';
import type { Settings } from '../config.js';
import type { Target } from '../domain/index.js';
import { FOLLOW_UP_DELAY_S, type RotationRecord } from '../rotations/index.js';
import { haltByHand, resumeByHand } from '../rotations/wave-progress.js';
import type { Halt, Waves } from '../rotations/waves.js';
import { readDeps, regionsFor, settingsOrFail, targetOf } from './account.js';
import type { Command } from './command.js';
import { CliError, EXIT } from './errors.js';
import type { Io } from './io.js';
import { commandFor, readOrFail, type ValueRecords, valueRecords } from './status.js';
import { printable } from './table.js';

type Verb = 'halt' | 'resume';

/** The state of the waves each verb acts on. */
const WANTED: Record<Verb, Waves['status']> = { halt: 'rolling', resume: 'halted' };

/**
 * The record `verb` acts on among a value's records (newest first): the newest open one whose
 * waves are rolling (halt) or halted (resume); else the sentence that says why there is none.
 */
export function chooseRecord(
  verb: Verb,
  records: RotationRecord[],
  name: string,
  resume: string,
): { record: RotationRecord } | { why: string } {
  const found = records.find(
    (record) => record.status === 'open' && record.waves?.status === WANTED[verb],
  );
  if (found) return { record: found };
  return { why: whyNot(verb, records.find((record) => record.waves) ?? null, name, resume) };
}

/** Why `verb` cannot act on `record`, the value's newest record with waves (null: none has). */
function whyNot(verb: Verb, record: RotationRecord | null, name: string, resume: string): string {
  const nothing = `nothing to ${verb}`;
  const named = printable(name);
  if (!record?.waves)
    return `${nothing}: no rotation record of ${named} has waves (none is open with staged restarts: nothing was restarted for its changes, or WATCHER_WAVES is all)`;
  const change = `the waves of ${named}'s change at ${printable(record.value.changedAt)}`;
  if (record.status !== 'open')
    return `${nothing}: ${change} are over: the rotation is ${record.status}${record.status === 'superseded' ? ' (a newer change starts its own waves)' : ''}`;
  const { status, halt } = record.waves;
  if (status === 'done')
    return `${nothing}: ${change} are already done (every consumer had its wave)`;
  if (verb === 'halt')
    return `${nothing}: ${change} are already halted (${printable(halt?.reason ?? 'no reason recorded')}); \`${resume}\` lets them go on`;
  return `${nothing}: ${change} are not halted: they are ${status}`;
}

/**
 * The record after `verb`: halted by hand, or resumed. Resuming forgets the failed restarts of
 * the wave in flight and clears what the record says was done to those consumers, so that the
 * next look restarts them again instead of taking them for restarted.
 */
export function apply(
  verb: Verb,
  record: RotationRecord,
  now: Date,
): { record: RotationRecord; retry: string[] } {
  const waves = record.waves as Waves;
  if (verb === 'halt') return { record: { ...record, waves: haltByHand(waves, now) }, retry: [] };
  const resumed = resumeByHand(waves, now);
  const again = new Set(resumed.retry);
  return {
    record: {
      ...record,
      waves: resumed.waves,
      consumers: record.consumers.map((consumer) =>
        again.has(consumer.arn) ? { ...consumer, action: null } : consumer,
      ),
    },
    retry: resumed.retry,
  };
}

const LOOK = `the record's next look (its follow-up, within ${Math.round(FOLLOW_UP_DELAY_S / 60)} minutes) or the next sweep`;

function wavesCommand(verb: Verb, summary: string, help: string): Command {
  return {
    name: verb,
    summary,
    usage: `rotation-watcher ${verb} NAME|ARN [--secret] [--stack NAME] [--region R] [--profile NAME] [--json]`,
    help,
    options: { secret: { type: 'boolean', default: false } },
    async run(positionals, values, io, context) {
      if (positionals.length !== 1)
        throw new CliError(
          `${verb} takes one NAME or ARN; see \`rotation-watcher ${verb} --help\``,
        );
      const settings = settingsOrFail(context);
      if (!settings.stateTable)
        throw new CliError(
          `${verb} changes the rotation records in the watcher's state table: pass --stack NAME or set WATCHER_STATE_TABLE`,
        );
      const regions = await regionsFor(values, settings);
      const given = positionals[0] as string;
      const target = targetOf(verb, given, Boolean(values.secret), regions[0] as string);
      const resume = commandFor('resume', given, values);
      const { clients } = readDeps(settings, regions, context);
      try {
        const where = await valueRecords(settings.stateTable, settings, target, regions, clients);
        const chosen = chooseRecord(
          verb,
          await readOrFail(where, () => where.store.list(where.pk)),
          target.name,
          resume,
        );
        if ('why' in chosen) throw new CliError(chosen.why);
        let why = '';
        const written = await readOrFail(where, () =>
          where.store.update(where.pk, chosen.record.sk, (current) => {
            // Another person or run changed it since it was read: say what it is now.
            if (current?.status !== 'open' || current.waves?.status !== WANTED[verb]) {
              why = whyNot(verb, current, target.name, resume);
              return null;
            }
            const next = apply(verb, current, new Date());
            return { record: next.record, result: next.retry };
          }),
        );
        if (!written) throw new CliError(why);
        const { record, result: retry } = written;
        const waves = record.waves as Waves;
        if (values.json)
          io.out(
            `${JSON.stringify({ record: { pk: record.pk, sk: record.sk }, waves, ...(verb === 'resume' ? { retry } : {}) }, null, 2)}\n`,
          );
        else io.out(`${said(verb, record, waves, retry, resume)}\n`);
        return EXIT.ok;
      } finally {
        clients.destroy();
      }
    },
  };
}

/** The line that says what was done and what happens next. */
function said(
  verb: Verb,
  record: RotationRecord,
  waves: Waves,
  retry: string[],
  resume: string,
): string {
  const change = `${printable(record.value.name)}'s change at ${printable(record.value.changedAt)}${record.value.version ? ` (version ${printable(record.value.version)})` : ''}`;
  const number = waves.waves.length;
  const at =
    number === 0 ? 'before its first wave' : number === 1 ? 'at the canary' : `at wave ${number}`;
  if (verb === 'halt')
    return `halted the waves of ${change} ${at}: no later wave goes until \`${resume}\`; restarts already sent are not undone`;
  const names = retry.map(
    (arn) => record.consumers.find((c) => c.arn === arn)?.name ?? arn.split('/').at(-1) ?? arn,
  );
  const again = retry.length
    ? `; ${retry.length} failed restart${retry.length === 1 ? '' : 's'} will be made again (${printable(names.join(', '))})`
    : '';
  return `resumed the waves of ${change} ${at}${again}; they go on at ${LOOK}`;
}

const SHARED = `NAME is a parameter name, a parameter or secret ARN, or /aws/reference/secretsmanager/NAME;
with --secret, NAME is a secret name. The rotation records are read from the state table: --stack
names the watcher's stack (its StateTableArn output), or WATCHER_STATE_TABLE names the table (in
the CLI's region unless it is an ARN).

Options:
  --secret      NAME is a Secrets Manager secret name, not a parameter name
  --region R    the value's region (default: WATCHER_REGIONS' first, else the current region)
  --json        print { record: { pk, sk }, waves }`;

export const haltCommand = wavesCommand(
  'halt',
  'stop the staged restarts (waves) of a parameter or secret by hand',
  `Stops the waves of the value's newest open rotation: no later wave is restarted until
\`rotation-watcher resume\`. Restarts already sent go on (a halt does not undo them), and the
rotation is still followed. A newer change of the value starts its own waves, canary first.

${SHARED}
  -h, --help    show this help

Exit codes: 0 halted, 2 bad input or nothing to halt (no open record with waves, or its waves
are already halted or done: the line says which), 3 the state table could not be read.`,
);

export const resumeCommand = wavesCommand(
  'resume',
  'let the halted waves of a parameter or secret go on, once the value is fixed',
  `Lets the halted waves of the value's newest open rotation go on where they stopped: the
consumers whose restart failed are restarted again, then the later waves follow, each once the
one before it completed and baked. The watcher does so at
${LOOK}.

Fix the value first: resuming on the same bad value fails the same way. Putting a new value
is a new change, which supersedes the halted waves and starts its own (no resume needed).

${SHARED}, and retry (the consumers restarted again)
  -h, --help    show this help

Exit codes: 0 resumed, 2 bad input or nothing to resume (no open record with waves, or its waves
are not halted: the line says which), 3 the state table could not be read.`,
);

/**
 * For `wait`: reads, at each check, whether the value's newest rotation is open with its waves
 * halted, and returns the halt (null when not, or when the records cannot be read: that is said
 * once on stderr, and changes nothing else of the answer).
 */
export function haltReader(
  table: string,
  settings: Settings,
  target: Target,
  regions: string[],
  clients: AwsClients,
  io: Io,
): (account: string | null) => Promise<Halt | null> {
  let where: ValueRecords | null = null;
  let warned = false;
  return async (account) => {
    try {
      where ??= await valueRecords(table, settings, target, regions, clients, account);
      const [newest] = await where.store.list(where.pk, 1);
      return newest?.status === 'open' && newest.waves?.status === 'halted'
        ? newest.waves.halt
        : null;
    } catch (error) {
      if (!warned)
        io.err(
          `warning: the rotation records in ${table} could not be read (${printable(error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error))}): whether the waves of ${printable(target.name)} are halted is unknown\n`,
        );
      warned = true;
      return null;
    }
  };
}
