import { describe, expect, it, vi } from 'vitest';
import { parseDuration, readSettings, SettingsError, withinPrefix } from '../../lib/config.js';

/** The error readSettings throws for `env`; fails the test if it throws none. */
function settingsError(env: Record<string, string>): SettingsError {
  try {
    readSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return error as SettingsError;
  }
  throw new Error(`readSettings accepted ${JSON.stringify(env)}`);
}

describe('readSettings', () => {
  it('uses the documented defaults when nothing is set', () => {
    expect(readSettings({})).toEqual({
      regions: null,
      defaultAction: 'notify',
      dryRun: false,
      maxActions: 25,
      snsTopicArn: null,
      slackWebhookUrl: null,
      slackWebhookParam: null,
      eventBus: null,
      namePrefix: null,
      mutableImages: 'redeploy',
      stateTable: null,
      stateTableRegion: null,
      apiShare: 0.25,
      completeDeadlineMs: 86_400_000,
      remindEveryMs: 86_400_000,
      waves: [{ count: 1 }, { percent: 25 }, { percent: 100 }],
      bakeMs: 300_000,
    });
  });

  it('takes the state table as a name, or as an ARN that also names its region', () => {
    expect(readSettings({ WATCHER_STATE_TABLE: 'watcher-state' })).toMatchObject({
      stateTable: 'watcher-state',
      stateTableRegion: null,
    });
    expect(
      readSettings({
        WATCHER_STATE_TABLE:
          'arn:aws:dynamodb:eu-west-1:123456789012:table/rotation-watcher-prod-StateTable-1A2B',
      }),
    ).toMatchObject({
      stateTable: 'rotation-watcher-prod-StateTable-1A2B',
      stateTableRegion: 'eu-west-1',
    });
    expect(() =>
      readSettings({ WATCHER_STATE_TABLE: 'arn:aws:dynamodb:eu-west-1:123456789012:stream/x' }),
    ).toThrow(
      /^WATCHER_STATE_TABLE must be a table name or a DynamoDB table ARN \(arn:aws:dynamodb:REGION:ACCOUNT:table\/NAME\), got "arn:aws:dynamodb:eu-west-1:123456789012:stream\/x"$/,
    );
  });

  it('treats a variable set to blanks as not set', () => {
    const settings = readSettings({ WATCHER_REGIONS: '  ', WATCHER_MAX_ACTIONS: '' });
    expect(settings.regions).toBeNull();
    expect(settings.maxActions).toBe(25);
  });

  it('reads the env object it is given, not process.env', () => {
    vi.stubEnv('WATCHER_MAX_ACTIONS', 'ten');
    try {
      expect(readSettings({}).maxActions).toBe(25);
      expect(() => readSettings()).toThrow(SettingsError);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('trims the regions and drops repeats and empty entries, keeping their order', () => {
    const { regions } = readSettings({ WATCHER_REGIONS: ' eu-west-1 , us-east-1,,eu-west-1 ' });
    expect(regions).toEqual(['eu-west-1', 'us-east-1']);
  });

  it.each([
    ['WATCHER_DEFAULT_ACTION', 'Redeploy', 'defaultAction', 'redeploy'],
    ['WATCHER_DEFAULT_ACTION', 'ignore', 'defaultAction', 'ignore'],
    ['WATCHER_DRY_RUN', 'TRUE', 'dryRun', true],
    ['WATCHER_DRY_RUN', 'yes', 'dryRun', true],
    ['WATCHER_DRY_RUN', '0', 'dryRun', false],
    ['WATCHER_MAX_ACTIONS', '0', 'maxActions', 0],
    ['WATCHER_MAX_ACTIONS', '10000', 'maxActions', 10_000],
    [
      'WATCHER_SNS_TOPIC_ARN',
      'arn:aws:sns:us-east-1:123456789012:t',
      'snsTopicArn',
      'arn:aws:sns:us-east-1:123456789012:t',
    ],
    [
      'WATCHER_SLACK_WEBHOOK_URL',
      'https://hooks.slack.com/services/T0/B0/x',
      'slackWebhookUrl',
      'https://hooks.slack.com/services/T0/B0/x',
    ],
    ['WATCHER_SLACK_WEBHOOK_PARAM', '/watcher/slack', 'slackWebhookParam', '/watcher/slack'],
    ['WATCHER_EVENT_BUS', 'watcher-bus', 'eventBus', 'watcher-bus'],
    ['WATCHER_MUTABLE_IMAGES', 'Notify', 'mutableImages', 'notify'],
    ['WATCHER_API_SHARE', '0.25', 'apiShare', 0.25],
    ['WATCHER_API_SHARE', '1', 'apiShare', 1],
    ['WATCHER_API_SHARE', '.1', 'apiShare', 0.1],
    ['WATCHER_COMPLETE_DEADLINE', '2h', 'completeDeadlineMs', 7_200_000],
    ['WATCHER_COMPLETE_DEADLINE', '1d12h', 'completeDeadlineMs', 129_600_000],
    ['WATCHER_REMIND_EVERY', '6h', 'remindEveryMs', 21_600_000],
    ['WATCHER_REMIND_EVERY', '0', 'remindEveryMs', 0],
    ['WATCHER_WAVES', 'all', 'waves', 'all'],
    ['WATCHER_WAVES', 'ALL', 'waves', 'all'],
    ['WATCHER_WAVES', '2, 10%,50', 'waves', [{ count: 2 }, { percent: 10 }, { count: 50 }]],
    ['WATCHER_BAKE', '0', 'bakeMs', 0],
    ['WATCHER_BAKE', '90s', 'bakeMs', 90_000],
    ['WATCHER_BAKE', '1h', 'bakeMs', 3_600_000],
  ])('reads %s=%j as %s %j', (name, value, field, expected) => {
    expect(readSettings({ [name]: value })).toHaveProperty(field, expected);
  });

  describe('a bad value stops start-up with a message naming the variable, the value and what is allowed', () => {
    it.each([
      ['WATCHER_REGIONS', 'us-east', /comma list of regions such as us-east-1/],
      ['WATCHER_REGIONS', 'us-east-1,eu-west', /comma list of regions/],
      ['WATCHER_DEFAULT_ACTION', 'restart', /one of redeploy, resubmit, notify, ignore/],
      ['WATCHER_DRY_RUN', 'maybe', /must be true or false/],
      ['WATCHER_MAX_ACTIONS', '-1', /whole number from 0 to 10000/],
      ['WATCHER_MAX_ACTIONS', 'ten', /whole number from 0 to 10000/],
      ['WATCHER_MAX_ACTIONS', '10001', /whole number from 0 to 10000/],
      ['WATCHER_SNS_TOPIC_ARN', 'topic', /must be an ARN \(arn:aws:sns:REGION:ACCOUNT:NAME\)/],
      ['WATCHER_SNS_TOPIC_ARN', 'arn:aws:sqs:us-east-1:123456789012:q', /must be an ARN/],
      ['WATCHER_MUTABLE_IMAGES', 'skip', /must be redeploy or notify/],
      ['WATCHER_API_SHARE', '0', /fraction above 0 and at most 1/],
      ['WATCHER_API_SHARE', '1.5', /fraction above 0 and at most 1/],
      ['WATCHER_API_SHARE', '50%', /fraction above 0 and at most 1/],
      ['WATCHER_API_SHARE', '-0.5', /fraction above 0 and at most 1/],
      ['WATCHER_WAVES', '1,,25%', /comma list of counts and percentages/],
      ['WATCHER_WAVES', '0,50%', /expected counts \(such as 1\)/],
      ['WATCHER_WAVES', '1,150%', /from 1% to 100%/],
      ['WATCHER_WAVES', 'canary', /expected counts/],
      ['WATCHER_BAKE', 'soon', /0 or a duration up to 1h/],
      ['WATCHER_BAKE', '61m', /0 or a duration up to 1h/],
      ['WATCHER_COMPLETE_DEADLINE', 'tomorrow', /duration from 1m to 30d/],
      ['WATCHER_COMPLETE_DEADLINE', '10s', /duration from 1m to 30d/],
      ['WATCHER_COMPLETE_DEADLINE', '31d', /duration from 1m to 30d/],
      ['WATCHER_REMIND_EVERY', 'daily', /0 \(every run\), a duration from 1m to 30d/],
      ['WATCHER_REMIND_EVERY', '30s', /0 \(every run\), a duration from 1m to 30d/],
    ])('%s=%j', (name, value, allowed) => {
      const error = settingsError({ [name]: value });
      expect(error.name).toBe('SettingsError');
      expect(error.message).toContain(name);
      expect(error.message).toContain(JSON.stringify(value));
      expect(error.message).toMatch(allowed);
    });
  });

  describe('WATCHER_SLACK_WEBHOOK_URL', () => {
    it.each([
      ['http://hooks.slack.com/services/T0/B0/s3cr3tT0k3n'],
      ['hooks.slack.com/services/T0/B0/s3cr3tT0k3n'],
      ['ftp://hooks.slack.com/services/T0/B0/s3cr3tT0k3n'],
    ])('rejects %s, which is not https, without showing it', (value) => {
      const error = settingsError({ WATCHER_SLACK_WEBHOOK_URL: value });
      expect(error.message).toContain('WATCHER_SLACK_WEBHOOK_URL');
      expect(error.message).toContain('https://');
      expect(error.message).not.toContain('s3cr3tT0k3n');
      expect(error.message).not.toContain('hooks.slack.com');
    });
  });
});

describe('WATCHER_NAME_PREFIX', () => {
  it('is read as given', () => {
    expect(readSettings({ WATCHER_NAME_PREFIX: '/prod/' }).namePrefix).toBe('/prod/');
  });

  it.each<[string, string | null, boolean]>([
    ['/prod/db/password', '/prod/', true],
    ['prod/db/password', '/prod/', true],
    ['/prod/db/password', 'prod/', true],
    ['prod/db-creds', 'prod/', true],
    ['/production/x', '/prod/', false],
    ['/staging/db', '/prod/', false],
    ['anything', null, true],
  ])('%s is within %j: %s', (name, prefix, within) => {
    expect(withinPrefix(name, prefix)).toBe(within);
  });
});

describe('parseDuration', () => {
  it.each<[string, number | null]>([
    ['90', 90_000],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['1h30m', 5_400_000],
    ['24h', 86_400_000],
    ['2d', 172_800_000],
    [' 5M ', 300_000],
    ['', null],
    ['soon', null],
    ['1.5h', null],
    ['-5m', null],
    ['30m1h', null],
  ])('reads %j as %j ms', (raw, ms) => {
    expect(parseDuration(raw)).toBe(ms);
  });
});
