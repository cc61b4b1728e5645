import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { type AwsClients, describeError } from '../aws/index.js';
import { isWebhookUrl } from '../config.js';
import { WebhookReadError, WebhookValueError } from './errors.js';

/**
 * How long a container keeps the decrypted webhook: a replaced webhook is used within this long,
 * and a container reads it about 4 times an hour at most.
 */
export const WEBHOOK_MAX_AGE_S = 900;

/**
 * The provider the webhook's SecureString is read through, on the watcher's own SSM client (so
 * its calls are counted and paced like every other). Build one per container: it caches the
 * value for WEBHOOK_MAX_AGE_S.
 *
 * @example buildDeps: `slack: { webhooks: webhookProvider(clients, home) }`
 */
export function webhookProvider(clients: AwsClients, region: string): SSMProvider {
  return new SSMProvider({ awsSdkV3Client: clients.get('ssm', region) });
}

/**
 * The webhook URL held by the SecureString `name`, decrypted through `provider` (which caches it;
 * a failed read is not kept, so the next notification asks again). This is the only value the
 * watcher ever decrypts; no error names it.
 */
export async function readWebhook(name: string, provider: SSMProvider): Promise<string> {
  let value: unknown;
  try {
    value = await provider.get(name, { decrypt: true, maxAge: WEBHOOK_MAX_AGE_S });
  } catch (error) {
    // Powertools wraps the SDK's error (a GetParameterError); what to act on is the SDK's.
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
    throw new WebhookReadError(name, describeError(cause), { cause: error });
  }
  if (typeof value !== 'string' || !isWebhookUrl(value)) throw new WebhookValueError(name);
  return value;
}
