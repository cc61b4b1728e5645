import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePayload } from '../../lib/events/index.js';
import { renderSlack, renderSns, runMessage, summarize } from '../../lib/notify/index.js';
import { changeJson } from '../../lib/report.js';
import { cli } from '../helpers/cli.js';
import { ACCOUNT, aChange, aReport, aReportedConsumer, REGION } from '../helpers/factories.js';

/** Strings that try to ping, link, format, break lines or JSON, or just be large. */
const HOSTILE = [
  '<!channel>',
  '<!here|here>',
  '<@U012AB3CD>',
  '<#C024BE7LR>',
  '*bold* _it_ ~strike~ `code`',
  '<http://evil.example|click me>',
  'a & b > c < d',
  'line1\nline2\r\nline3\u2028line4',
  '"quotes" \\ backslash {"json": true}',
  'ünïcødé 🔐 \u200b zero-width 中文 עברית',
  'x'.repeat(5000),
];
const hostile = (n: number) => HOSTILE[n % HOSTILE.length] as string;

/** A report whose every string that reaches a notification is hostile. */
function hostileReport() {
  const consumers = HOSTILE.map((text, n) =>
    aReportedConsumer(
      {
        kind: n % 3 === 0 ? 'ecs-service' : n % 3 === 1 ? 'ecs-task' : 'batch-job',
        name: text,
        stale: true,
        staleReason: `started before ${text}`,
      },
      {
        action: 'notify',
        reason: `notify by the default (the job tag's value ${JSON.stringify(text.slice(0, 40))} is not one of redeploy, resubmit, notify, ignore)`,
      },
    ),
  );
  return aReport({
    changes: HOSTILE.map((text, n) =>
      changeJson(
        aChange({
          name: text,
          operation: hostile(n + 1),
          service: n % 2 ? 'ssm' : 'secretsmanager',
        }),
      ),
    ),
    consumers,
    actions: consumers.map((consumer, n) => ({
      kind: 'redeploy',
      target: consumer.arn,
      status: n % 2 ? 'failed' : 'done',
      detail: hostile(n + 2),
    })),
    gaps: [
      {
        region: REGION,
        scope: hostile(0),
        api: 'ecs:ListTasks',
        error: `AccessDeniedException: ${hostile(5)}`,
        affects: { kind: 'any' },
      },
    ],
    complete: false,
  });
}

describe('notifications built from hostile strings', () => {
  const report = hostileReport();

  it('keep Slack to its limits, with every mention, link and markup escaped', () => {
    const { message } = renderSlack(runMessage(report));
    const json = JSON.stringify(message);
    expect(() => JSON.parse(json)).not.toThrow();
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    for (const block of message.blocks as Array<{
      type: string;
      text?: { type: string; text: string };
    }>) {
      if (block.text)
        expect(block.text.text.length).toBeLessThanOrEqual(block.type === 'header' ? 150 : 3000);
    }
    const texts = [message.text, ...message.blocks.map((block) => JSON.stringify(block))].join(
      '\n',
    );
    // Every `<` left in mrkdwn opens a link the watcher built itself, to the AWS console.
    for (const match of texts.matchAll(/<([^>]*)>/g)) {
      expect(match[1]).toMatch(/^https:\/\/[a-z0-9-]+\.console\.aws\.amazon\.com\//);
    }
    expect(texts).not.toMatch(/<!|<@|<#|<http:\/\/evil/);
    expect(texts).toContain('&lt;!channel&gt;');
    expect(texts).toContain('\u200b*bold\u200b*');
  });

  it('keep the SNS message valid JSON within the size limit, and the subject one ASCII line', () => {
    const { Message: message, Subject: subject } = renderSns(runMessage(report)).message;
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(240 * 1024);
    expect(subject).toMatch(/^[\x20-\x7e]{1,100}$/);
    const parsed = JSON.parse(message);
    expect(JSON.parse(parsed.sqs).consumers).toHaveLength(HOSTILE.length);
    const title = summarize(report).title;
    expect(title).not.toMatch(/[\r\n]/);
  });

  it('render one line per change, consumer and gap in the text report', () => {
    const text: string = JSON.parse(renderSns(runMessage(report)).message.Message).default;
    const consumerLines = text.split('\n').filter((line) => /^ {2}- \[(STALE|fresh)\]/.test(line));
    expect(consumerLines).toHaveLength(HOSTILE.length);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(800);
  });
});

describe('hostile events', () => {
  const base = {
    version: '0',
    id: 'h-1',
    'detail-type': 'Parameter Store Change',
    source: 'aws.ssm',
    account: ACCOUNT,
    time: '2026-11-20T12:00:00Z',
    region: REGION,
    resources: [],
  };

  it.each([
    [
      'an oversized name',
      { ...base, detail: { operation: 'Update', name: `/${'a'.repeat(3000)}` } },
      /detail\.name: Too big/,
    ],
    [
      'a name of the wrong type',
      { ...base, detail: { operation: 'Update', name: { $gt: '' } } },
      /detail\.name: Invalid input: expected string/,
    ],
    [
      'an account with letters',
      { ...base, account: '12345678901x', detail: { operation: 'Update', name: '/a' } },
      /account: expected a 12-digit account id/,
    ],
    [
      'a region that is markup',
      { ...base, region: '<!channel>', detail: { operation: 'Update', name: '/a' } },
      /region: expected a region/,
    ],
    [
      'a time that is not a time',
      { ...base, time: 'yesterday', detail: { operation: 'Update', name: '/a' } },
      /time: /,
    ],
    [
      'a resource ARN of 100 000 characters',
      {
        ...base,
        resources: [`arn:${'x'.repeat(100_000)}`],
        detail: { operation: 'Update', name: '/a' },
      },
      /resources\.0: Too big/,
    ],
  ])('rejects %s, saying which field and why', (_label, event, reason) => {
    const [record] = parsePayload(event);
    expect(record?.changes).toEqual([]);
    expect(record?.error).toMatch(reason);
    expect((record?.error ?? '').length).toBeLessThan(300);
  });

  it('reads a markup-looking name as a name, to be escaped wherever it is shown', () => {
    const [record] = parsePayload({
      ...base,
      detail: { operation: 'Update', name: '<!channel> *x* <http://evil|y>' },
    });
    expect(record?.changes[0]?.name).toBe('<!channel> *x* <http://evil|y>');
  });

  it('survives an SQS batch of garbage: each bad record is named, the good one read', () => {
    const records = parsePayload({
      Records: [
        { messageId: 'a', body: 'not json' },
        {
          messageId: 'b',
          body: JSON.stringify({ ...base, detail: { operation: 'Update', name: '/ok' } }),
        },
        { messageId: 'c', body: '[[[[[[[[[[]]]]]]]]]]' },
        { messageId: 'd', body: JSON.stringify('just a string') },
        { messageId: 'e' },
        42,
      ],
    });
    expect(records.map((r) => [r.recordId, r.changes.length, r.error ? 'error' : 'ok'])).toEqual([
      ['a', 0, 'error'],
      ['b', 1, 'ok'],
      ['c', 0, 'error'],
      ['d', 0, 'error'],
      [null, 0, 'error'],
      [null, 0, 'error'],
    ]);
    expect(records[0]?.error).toBe('SQS record a: the body is not JSON');
  });
});

describe('hostile definitions and event files to the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-hostile-'));
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  it('lists what it can of a definition full of bad references, with a reason for each', async () => {
    const path = file('refs.json', {
      family: 'evil',
      containerDefinitions: [
        {
          name: '<!channel>',
          secrets: [
            {
              name: 'EXTRA_COLONS',
              valueFrom: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x:a:b:c:d:e',
            },
            { name: 'HUGE', valueFrom: `/${'p'.repeat(10_000)}` },
            { name: 'UNICODE', valueFrom: '/pärämeter' },
            { name: 'NESTED', valueFrom: { deep: [[[{}]]] } },
            { name: 'GOOD', valueFrom: '/fine' },
          ],
        },
      ],
    });
    const { code, stdout, stderr } = await cli([
      'refs',
      path,
      '--json',
      '--region',
      REGION,
      '--account',
      ACCOUNT,
    ]);
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as Array<{ name: string; problem: string | null }>;
    expect(rows.map((row) => [row.name, row.problem === null])).toEqual([
      ['EXTRA_COLONS', false],
      ['HUGE', false],
      ['UNICODE', false],
      ['NESTED', false],
      ['GOOD', true],
    ]);
    expect(stderr.trimEnd().split('\n')).toHaveLength(4);
    for (const line of stderr.trimEnd().split('\n')) expect(line.length).toBeLessThan(400);
  });

  it('refuses an event file that is not an event, in one line', async () => {
    const { code, stderr } = await cli([
      'simulate',
      file('event.json', { Records: [{ messageId: 'z', body: '{' }] }),
      '--region',
      REGION,
    ]);
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(
      /^rotation-watcher: .*event\.json: SQS record z: the body is not JSON$/,
    );
  });
});
