// Records every AWS call the functions make, through the `onCall` hook of AwsClients. A test file
// swaps lib/aws's AwsClients for the recording one with vi.mock, so the real handlers, building
// their clients as they do in Lambda, make the calls:
//
//   vi.mock('../../lib/aws/index.js', async (importOriginal) =>
//     (await import('../helpers/iam-recorder.js')).recording(await importOriginal()),
//   );
import type * as Aws from '../../lib/aws/index.js';

/** One call as AwsClients saw it before sending it (retries are not repeated). */
export interface RecordedCall {
  /** The short service name of AwsClients (also the IAM prefix: ecs, batch, ssm, …). */
  service: string;
  /** The API (the SDK command without `Command`), also the IAM action name here. */
  api: string;
  region: string;
  input: unknown;
}

const calls: RecordedCall[] = [];

/** The calls recorded since the last `takeCalls()`, in the order they were made. */
export function takeCalls(): RecordedCall[] {
  return calls.splice(0);
}

/** lib/aws with an AwsClients that records every call it is asked to make. */
export function recording(original: typeof Aws): typeof Aws {
  class RecordingClients extends original.AwsClients {
    constructor(options: Aws.ClientOptions = {}) {
      super({
        ...options,
        onCall: (call) => {
          calls.push(call);
          options.onCall?.(call);
        },
      });
    }
  }
  return { ...original, AwsClients: RecordingClients };
}
