import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { question } from '../../lib/cli/apply.js';
import { isYes, wantsColour } from '../../lib/cli/io.js';
import { renderRun, stateOf, verbOf } from '../../lib/cli/render.js';
import { renderRecords } from '../../lib/cli/status.js';
import { ellipsis, layoutOf, table } from '../../lib/cli/table.js';
import { plan } from '../../lib/plan.js';
import type { RunReport } from '../../lib/report.js';
import type { RotationRecord } from '../../lib/rotations/index.js';
import { cli } from '../helpers/cli.js';
import { parameterChange } from '../helpers/events.js';
import { aConsumer } from '../helpers/factories.js';

type Row = RunReport['consumers'][number];

const LONG_WHY =
  '2 of 2 running tasks may hold the old value; first: created 2024-05-01T10:00:00.000Z, before the change of /prod/db/password at 2024-05-02T09:30:00.000Z (PutParameter, as AWS records it)';

function row(overrides: Partial<Row> = {}): Row {
  return {
    kind: 'ecs-service',
    arn: 'arn:aws:ecs:us-east-1:123456789012:service/prod/checkout',
    name: 'checkout',
    references: [],
    stale: true,
    staleReason: LONG_WHY,
    action: 'redeploy',
    reason: 'redeploy by the service tag',
    region: 'us-east-1',
    parent: null,
    running: 2,
    staleRunning: 2,
    cause: 'created-before',
    basis: 'policy',
    alarm: false,
    ...overrides,
  };
}

function report(consumers: Row[], actions: RunReport['actions'] = []): RunReport {
  return { changes: [], consumers, actions, complete: true, gaps: [] };
}

const PLAIN = { width: 100, colour: false };
const ESC = '\x1b[';

describe('the run table', () => {
  it('fits every line in 100 columns, cutting the reason with an ellipsis', () => {
    const text = renderRun(report([row(), row({ name: 'billing' })]), 'none', PLAIN);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^KIND\s+NAME\s+RUNNING\s+STATE\s+ACTION\s+WHY$/);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    expect(lines[1]).toMatch(
      /^ecs-service\s+checkout\s+2\s+stale\s+redeploy\s+2 of 2 running .*…$/,
    );
  });

  it('prints the whole reason with --wide', () => {
    const text = renderRun(report([row()]), 'none', layoutOf({ wide: true }, { columns: 80 }));
    expect(text).toContain(LONG_WHY);
  });

  it('fits the terminal when stdout is one, else 100 columns', () => {
    expect(layoutOf({}, { columns: 132 }).width).toBe(132);
    expect(layoutOf({}, {}).width).toBe(100);
    expect(layoutOf({ wide: true }, { columns: 132 }).width).toBeNull();
  });

  it('shows REGION only when the consumers are in several regions', () => {
    const one = renderRun(report([row()]), 'none', PLAIN);
    const two = renderRun(report([row(), row({ region: 'eu-west-1' })]), 'none', PLAIN);
    expect(one).not.toMatch(/REGION/);
    expect(one).toMatch(/1 consumer, 1 stale in us-east-1/);
    expect(two).toMatch(/^KIND\s+NAME\s+REGION\s+RUNNING/);
  });

  it('says "replacing", not "no", next to old tasks a deployment is replacing', () => {
    const replaced = row({
      stale: false,
      cause: 'replaced',
      basis: 'fresh',
      action: 'none',
      reason:
        '2 of 2 running tasks may hold the old value, but deployment ecs-svc/2 began after the change, and is replacing them (IN_PROGRESS)',
    });
    const text = renderRun(report([replaced]), 'none', PLAIN);
    expect(text.split('\n')[1]).toMatch(/\s2\s+replacing\s+none\s+2 of 2 running tasks may hold/);
    expect(text).toMatch(/1 consumer, 0 stale, 1 replacing/);
  });

  it('colours STATE only when colour is on', () => {
    expect(renderRun(report([row()]), 'none', PLAIN)).not.toContain(ESC);
    expect(renderRun(report([row()]), 'none', { width: 100, colour: true })).toContain(
      `${ESC}31mstale`,
    );
  });

  it('says "would redeploy" for a plan and "redeployed" for a restart done', () => {
    const planned = { kind: 'redeploy', target: 'svc', status: 'planned', detail: 'by tag' };
    const text = renderRun(report([row()], [planned as RunReport['actions'][number]]), '', PLAIN);
    expect(text).toMatch(/Actions:\n {2}would redeploy {2}svc — by tag/);
    expect(text).not.toMatch(/planned/);
    expect(verbOf({ kind: 'resubmit', status: 'done' })).toBe('resubmitted');
    expect(verbOf({ kind: 'sns', status: 'done' })).toBe('notified (sns)');
  });
});

describe('STATE', () => {
  it.each([
    [{ stale: true, cause: 'created-before' }, 'stale'],
    [{ stale: true, cause: 'time-unknown' }, 'stale'],
    [{ stale: false, cause: 'replaced' }, 'replacing'],
    [{ stale: false, cause: 'created-after' }, 'fresh'],
    [{ stale: false, cause: 'not-started' }, 'queued'],
    [{ stale: false, cause: 'unaffected' }, 'unaffected'],
    [{ stale: false, cause: 'no-run' }, 'idle'],
    [{ stale: true, cause: 'created-before', alarm: true }, 'alarm'],
    [{ stale: false, cause: 'created-before', basis: 'service-gone' }, 'gone'],
    [{ stale: true, cause: 'created-before', basis: 'service-gone' }, 'stale'],
  ] as const)('of %o is %s', (facts, state) => {
    expect(stateOf({ basis: 'policy', alarm: false, ...facts })).toBe(state);
  });
});

describe('table', () => {
  it('cuts only the columns it may cut, and never below a few characters', () => {
    const text = table(['A', 'B'], [['x'.repeat(30), 'y'.repeat(40)]], { width: 20, cut: [1] });
    const [, line] = text.split('\n');
    expect(line).toBe(`${'x'.repeat(30)}  ${'y'.repeat(11)}…`);
  });

  it('cuts a long name to 24 characters before it cuts the reason', () => {
    const name = 'family:worker 8d9292b3-91a1-434f-86dc-345ab53d9256';
    const why = `2 of 2 running tasks may hold the old value ${'z'.repeat(80)}`;
    const text = table(['NAME', 'WHY'], [[name, why]], { width: 70, cut: [1, 0] });
    const [, line = ''] = text.split('\n');
    expect(line.length).toBeLessThanOrEqual(70);
    expect(
      line.startsWith(`${name.slice(0, 23)}…  2 of 2 running tasks may hold the old value`),
    ).toBe(true);
  });

  it('cuts with one ellipsis character', () => {
    expect(ellipsis('abcdef', 4)).toBe('abc…');
    expect(ellipsis('abc', 4)).toBe('abc');
  });
});

describe('colour', () => {
  it.each([
    [{}, true, true],
    [{}, false, false],
    [{ NO_COLOR: '1' }, true, false],
    [{ FORCE_COLOR: '1' }, false, true],
    [{ FORCE_COLOR: '0' }, true, false],
    [{ TERM: 'dumb' }, true, false],
    [{ NO_COLOR: '1', FORCE_COLOR: '1' }, true, false],
  ])('with %o on a terminal %s: %s', (env, terminal, wanted) => {
    expect(wantsColour(env, terminal)).toBe(wanted);
  });
});

describe('the drift --apply question', () => {
  it('counts the services and jobs it is about to restart', () => {
    const consumers = [
      aConsumer({ arn: 'a' }),
      aConsumer({ arn: 'b' }),
      aConsumer({ arn: 'c', kind: 'batch-job' }),
    ];
    const planned = plan(consumers, { defaultAction: 'redeploy', maxActions: 25 });
    // The factories' consumers: services redeploy by default, the job asks for resubmit.
    const jobs = plan([aConsumer({ arn: 'c', kind: 'batch-job' })], {
      defaultAction: 'resubmit',
      maxActions: 25,
    });
    const both = { decisions: planned.decisions, actions: [...planned.actions, ...jobs.actions] };
    expect(question(both, ['us-east-1'])).toBe(
      'Redeploy 2 services and resubmit 1 job in us-east-1? [y/N] ',
    );
    expect(question(plan([], { defaultAction: 'redeploy', maxActions: 25 }), ['us-east-1'])).toBe(
      null,
    );
  });

  it('reads only y or yes as yes', () => {
    expect(['y', 'Y', 'yes', ' YES '].every(isYes)).toBe(true);
    expect(['', 'n', 'no', 'yess', 'sure'].some(isYes)).toBe(false);
  });
});

describe('rotation-watcher drift flags', () => {
  it('refuses --apply without --yes when there is no terminal to ask on', async () => {
    const { code, stdout, stderr } = await cli(['drift', '--apply', '--region', 'us-east-1']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.split('\n')[0]).toBe(
      'rotation-watcher: drift --apply restarts consumers and there is no terminal to ask on: pass --yes to confirm',
    );
  });

  it('refuses --yes without --apply', async () => {
    const { code, stderr } = await cli(['drift', '--yes', '--region', 'us-east-1']);
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe(
      'rotation-watcher: drift: --yes goes with --apply (drift alone changes nothing)',
    );
  });

  it('documents --apply, --yes and --wide in its help', async () => {
    const { code, stdout } = await cli(['drift', '--help']);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe(
      'Usage: rotation-watcher drift [--all] [--wide] [--apply [--yes]] [--region R] [--json]',
    );
    expect(stdout).toMatch(/--wide {8}print every column whole/);
  });
});

describe('rotation-watcher simulate says what it did not do', () => {
  // A change outside WATCHER_NAME_PREFIX: the pipeline runs without reading the account.
  const scratch = mkdtempSync(join(tmpdir(), 'rw-cli-table-'));
  const event = join(scratch, 'event.json');
  writeFileSync(event, JSON.stringify(parameterChange('/elsewhere/x', { id: 'e-1' })));
  const outside = {
    WATCHER_NAME_PREFIX: '/watched/',
    WATCHER_SNS_TOPIC_ARN: '',
    WATCHER_SLACK_WEBHOOK_URL: '',
    WATCHER_SLACK_WEBHOOK_PARAM: '',
    WATCHER_EVENT_BUS: '',
  };

  it('ends with "nothing was changed" without --apply', async () => {
    const { code, stdout } = await cli(
      ['simulate', event, '--region', 'us-east-1'],
      undefined,
      undefined,
      outside,
    );
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe('no running consumer references the changed values');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('nothing was changed: pass --apply to act');
  });

  it('says it on stderr with --json, so that stdout stays JSON', async () => {
    const { code, stdout, stderr } = await cli(
      ['simulate', event, '--region', 'us-east-1', '--json'],
      undefined,
      undefined,
      outside,
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout).consumers).toEqual([]);
    expect(stderr.split('\n')[0]).toBe(
      'rotation-watcher: nothing was changed: pass --apply to act',
    );
  });

  it('with --apply and no channel, says notifications went nowhere and what to set', async () => {
    const { code, stdout } = await cli(
      ['simulate', event, '--apply', '--region', 'us-east-1'],
      undefined,
      undefined,
      {
        ...outside,
        WATCHER_SNS_TOPIC_ARN: '',
        WATCHER_SLACK_WEBHOOK_URL: '',
        WATCHER_EVENT_BUS: '',
      },
    );
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe(
      'notifications went nowhere: no channel is set; set WATCHER_SNS_TOPIC_ARN, WATCHER_SLACK_WEBHOOK_URL (or WATCHER_SLACK_WEBHOOK_PARAM) or WATCHER_EVENT_BUS',
    );
  });

  it('with --apply --json and no channel, says it on stderr', async () => {
    const { code, stdout, stderr } = await cli(
      ['simulate', event, '--apply', '--json', '--region', 'us-east-1'],
      undefined,
      undefined,
      outside,
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout).actions).toEqual([]);
    expect(stderr.split('\n')[0]).toMatch(/^rotation-watcher: notifications went nowhere: /);
  });

  it('with --apply and a channel but nothing to tell, names the channel', async () => {
    const topic = 'arn:aws:sns:us-east-1:123456789012:watcher';
    const { code, stdout } = await cli(
      ['simulate', event, '--apply', '--region', 'us-east-1'],
      undefined,
      undefined,
      { ...outside, WATCHER_SNS_TOPIC_ARN: topic },
    );
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe(
      `nothing worth telling: no notification sent (channels: sns ${topic})`,
    );
  });

  it('documents --wide and its last line in its help', async () => {
    const { code, stdout } = await cli(['simulate', '--help']);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe(
      'Usage: rotation-watcher simulate EVENT.json [--apply] [--wide] [--region R] [--json]',
    );
    expect(stdout).toContain('nothing was changed: pass --apply to\nact');
  });
});

describe('status table', () => {
  const record = {
    pk: 'rot#ssm|us-east-1|123456789012|/prod/db|',
    sk: 'change#2026-12-01T12:00:00.000Z#2',
    value: { changedAt: '2026-12-01T12:00:00.000Z', version: '2' },
    status: 'open',
    openedAt: '2026-12-01T12:00:05.000Z',
    closedAt: null,
    consumers: Array.from({ length: 30 }, (_, i) => ({
      kind: 'ecs-service',
      name: `service-with-a-long-name-${i}`,
      state: 'stale',
    })),
  } as unknown as RotationRecord;

  it('cuts HOLDING OLD to fit 100 columns, and --wide prints it whole', () => {
    const fitted = renderRecords([record], { width: 100, colour: false });
    for (const line of fitted.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    expect(fitted).toMatch(/ open {4}service-with-… {2}0 /);
    expect(fitted).not.toContain('service-with-a-long-name-29');
    const wide = renderRecords([record], { width: null, colour: false });
    expect(wide).toContain('service-with-a-long-name-29');
  });
});
