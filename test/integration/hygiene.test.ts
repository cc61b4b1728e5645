import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHandler as createOnChange } from '../../functions/on-change.js';
import { createHandler as createSweep } from '../../functions/sweep.js';
import { logger } from '../../lib/runtime.js';
import { ACCOUNT } from '../../scripts/seed.js';
import { type SlackStub, startSlackStub } from '../../scripts/slack-stub.js';
import { cli } from '../helpers/cli.js';
import { sqsBatch } from '../helpers/events.js';
import { useFaultyMoto } from '../helpers/faulty-moto.js';

let onChange = createOnChange();
/** A cold start: the handler of a new Lambda container. */
const resetOnChange = () => {
  onChange = createOnChange();
};
let sweep = createSweep();
/** A cold start: the handler of a new Lambda container. */
const resetSweep = () => {
  sweep = createSweep();
};

const env = useFaultyMoto();
const REGION = 'us-east-1';
/** Every watched value contains this; it must never show up anywhere the watcher writes. */
const CANARY = 'CANARY-7f3a9c-DO-NOT-LEAK';
const WEBHOOK_PARAM = '/watcher/slack-webhook';

describe('secret hygiene: no watched value is read, printed, logged, sent or emitted', () => {
  let slack: SlackStub;
  let settings: Record<string, string>;
  let topicQueue: string;
  let busQueue: string;
  const seen: string[] = [];

  beforeAll(async () => {
    const { seed } = env;
    slack = await startSlackStub();
    await seed.parameter(REGION, WEBHOOK_PARAM, slack.url);
    await seed.parameter(REGION, '/prod/db/password', `${CANARY}-param`);
    await seed.parameter(REGION, 'plain-config', `${CANARY}-string`, 'String');
    const secret = await seed.secret(
      REGION,
      'prod/db-creds',
      JSON.stringify({ password: `${CANARY}-secret` }),
    );
    const cluster = await seed.cluster(REGION, 'prod');
    const td = await seed.taskDefinition(REGION, 'app', [
      {
        name: 'app',
        secrets: { DB: '/prod/db/password', CONFIG: 'plain-config', CREDS: `${secret}:password::` },
        logSecrets: { key: '/prod/db/password' },
      },
    ]);
    await seed.service(REGION, cluster, 'api', td, {
      tasks: 2,
      tags: { 'rotation-watcher:action': 'redeploy' },
    });
    await seed.service(REGION, cluster, 'worker', td, { tasks: 1 });
    await seed.standaloneTask(REGION, cluster, td);
    const topic = await seed.topicWithSubscriber(REGION, 'reports');
    const bus = await seed.busWithQueue(REGION, 'watcher-bus', 'rotation-watcher');
    topicQueue = topic.queueUrl;
    busQueue = bus.queueUrl;
    settings = {
      WATCHER_SNS_TOPIC_ARN: topic.topicArn,
      WATCHER_SLACK_WEBHOOK_PARAM: WEBHOOK_PARAM,
      WATCHER_EVENT_BUS: bus.bus,
    };
    await seed.parameter(REGION, '/prod/db/password', `${CANARY}-param-rotated`);
    await seed.rotateSecret(
      REGION,
      'prod/db-creds',
      JSON.stringify({ password: `${CANARY}-secret-rotated` }),
    );
    env.proxy.log.length = 0;
  }, 120_000);

  afterAll(async () => {
    await slack?.stop();
  });

  it('runs every command and both functions without the value reaching any output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-hygiene-'));
    const event = join(dir, 'event.json');
    const parameterEvent = {
      version: '0',
      id: 'hy-1',
      'detail-type': 'Parameter Store Change',
      source: 'aws.ssm',
      account: ACCOUNT,
      time: new Date().toISOString(),
      region: REGION,
      resources: [],
      detail: { operation: 'Update', name: '/prod/db/password', type: 'SecureString' },
    };
    writeFileSync(event, JSON.stringify(parameterEvent));
    const definition = join(dir, 'td.json');
    writeFileSync(
      definition,
      JSON.stringify({
        family: 'f',
        containerDefinitions: [
          { name: 'c', secrets: [{ name: 'A', valueFrom: '/prod/db/password' }] },
        ],
      }),
    );

    const runs = [
      await cli(['refs', definition, '--region', REGION, '--account', ACCOUNT]),
      await cli(['who-uses', '/prod/db/password', '--region', REGION, '--json']),
      await cli(['who-uses', 'prod/db-creds', '--secret', '--region', REGION]),
      await cli(['drift', '--all', '--region', REGION, '--json']),
      await cli(['drift', '--region', REGION]),
      await cli(['simulate', event, '--region', REGION, '--json']),
      await cli(
        ['simulate', event, '--apply', '--region', REGION, '--json'],
        undefined,
        undefined,
        settings,
      ),
    ];
    for (const run of runs) {
      expect(run.code).toBe(0);
      seen.push(run.stdout, run.stderr);
    }

    // The functions, with their logs and metrics captured.
    Object.assign(process.env, settings, { AWS_REGION: REGION });
    resetOnChange();
    logger.setLogLevel('INFO');
    resetSweep();
    const write = (chunk: string | Uint8Array) => {
      seen.push(String(chunk));
      return true;
    };
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(write);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(write);
    try {
      seen.push(
        JSON.stringify(
          await onChange(
            sqsBatch({ ...parameterEvent, id: 'hy-2', time: new Date().toISOString() }),
          ),
        ),
      );
      seen.push(JSON.stringify(await sweep()));
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(seen.join('').length).toBeGreaterThan(2000);

    // Everything the watcher sent: Slack messages, SNS messages, EventBridge events.
    const sent = [
      ...slack.received.map((message) => JSON.stringify(message)),
      ...(await env.seed.drain(REGION, topicQueue)).map((message) => message.body),
      ...(await env.seed.drain(REGION, busQueue)).map((message) => message.body),
    ];
    expect(slack.received.length).toBeGreaterThanOrEqual(2);
    expect(sent.length).toBeGreaterThanOrEqual(6);
    for (const text of [...seen, ...sent]) expect(text).not.toContain(CANARY);
  }, 120_000);

  it('never asked AWS for a watched value: the only value read is the Slack webhook', () => {
    const calls = env.proxy.log.map((entry) => entry.api);
    expect(calls.length).toBeGreaterThan(50);
    const reads = env.proxy.log.filter((entry) => /^ssm:GetParameter/.test(entry.api));
    expect(reads.map((entry) => entry.input.Name)).toEqual(reads.map(() => WEBHOOK_PARAM));
    // Decrypted once per cold start: the CLI run and the two functions, at most.
    expect(reads.length).toBeGreaterThanOrEqual(1);
    expect(reads.length).toBeLessThanOrEqual(3);
    expect(calls.filter((api) => /GetSecretValue|BatchGetSecretValue|kms:/.test(api))).toEqual([]);
  });
});
