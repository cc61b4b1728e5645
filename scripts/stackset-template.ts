/**
 * Turns the packaged template into one StackSets can install in every account and region:
 *
 *   npx serverless package
 *   npm run stackset-template -- --bucket NAME [--prefix P] [--regional] [--out FILE] [--template-url]
 *
 * The packaged template's functions read their code from the serverless deployment bucket the
 * template itself creates, which is empty in every target account; and pretty-printed it is over
 * the 51,200 bytes `--template-body` takes. This writes it minified, with each function's code
 * read from a bucket the user names (parameters `CodeBucket` and `CodeKeyPrefix`), the deployment
 * bucket, its policy and its outputs removed, and prints the commands that upload the zips.
 * See docs/stacksets.md.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** CloudFormation's limit on a template passed inline (`--template-body`). */
export const TEMPLATE_BODY_LIMIT = 51_200;

const DEPLOYMENT_BUCKET = 'ServerlessDeploymentBucket';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
type Template = Record<string, any>;

export interface StackSetOptions {
  /** Default of `CodeBucket`: where the zips are (with `regional`, the name before `-REGION`). */
  bucket: string;
  /** Default of `CodeKeyPrefix`: the keys' folder, ending in `/` (or empty). */
  prefix: string;
  /** One bucket per region, `BUCKET-REGION`: Lambda reads code only from its own region. */
  regional: boolean;
}

/**
 * The template with the functions' code in `CodeBucket`/`CodeKeyPrefix` and no trace of the
 * deployment bucket; the zip each function reads, by file name.
 */
export function stackSetTemplate(
  packaged: Template,
  options: StackSetOptions,
): { template: Template; zips: string[] } {
  const template: Template = structuredClone(packaged);
  template.Parameters = {
    ...template.Parameters,
    CodeBucket: {
      Type: 'String',
      Default: options.bucket,
      AllowedPattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
      Description: options.regional
        ? 'Name of the buckets holding the function zips, less the -REGION suffix (one bucket per region)'
        : "Bucket holding the function zips, in the stack's region and readable by its account",
    },
    CodeKeyPrefix: {
      Type: 'String',
      Default: options.prefix,
      Description: 'Key prefix of the function zips in CodeBucket (ends in / unless empty)',
    },
  };
  const zips: string[] = [];
  for (const resource of Object.values(template.Resources as Record<string, Template>)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const key = resource.Properties?.Code?.S3Key;
    if (typeof key !== 'string')
      throw new Error(
        'a function has no packaged S3Key: run `npx serverless package` first, without artifacts of your own',
      );
    const zip = basename(key);
    zips.push(zip);
    resource.Properties.Code = {
      S3Bucket: options.regional
        ? // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub
          { 'Fn::Sub': '${CodeBucket}-${AWS::Region}' }
        : { Ref: 'CodeBucket' },
      S3Key: { 'Fn::Sub': `\${CodeKeyPrefix}${zip}` },
    };
  }
  for (const [name, resource] of Object.entries(template.Resources as Record<string, Template>))
    if (name === DEPLOYMENT_BUCKET || mentions(resource, DEPLOYMENT_BUCKET))
      delete template.Resources[name];
  for (const [name, output] of Object.entries((template.Outputs ?? {}) as Record<string, Template>))
    if (mentions(output, DEPLOYMENT_BUCKET)) delete template.Outputs[name];
  if (mentions(template, DEPLOYMENT_BUCKET))
    throw new Error(
      `the template still refers to ${DEPLOYMENT_BUCKET} after its code was moved: report this with the packaged template`,
    );
  return { template, zips };
}

/** The default key prefix: the zips' own hash, so new code gets new keys and the functions update. */
export function defaultPrefix(zipPaths: string[]): string {
  const hash = createHash('sha256');
  for (const path of [...zipPaths].sort()) hash.update(readFileSync(path));
  return `rotation-watcher/${hash.digest('hex').slice(0, 12)}/`;
}

/** Whether a fragment names the resource (Ref, GetAtt, Sub), not merely a longer name. */
function mentions(value: unknown, name: string): boolean {
  return new RegExp(`\\b${name}\\b`).test(JSON.stringify(value));
}

const USAGE =
  'usage: npm run stackset-template -- --bucket NAME [--prefix P] [--regional] [--out FILE] [--dir .serverless] [--template-url]';

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      bucket: { type: 'string' },
      prefix: { type: 'string' },
      regional: { type: 'boolean', default: false },
      out: { type: 'string', default: 'stackset-template.json' },
      dir: { type: 'string', default: '.serverless' },
      'template-url': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.bucket) throw new Error(`--bucket is required (the bucket the zips go to). ${USAGE}`);
  const dir = values.dir;
  const packagedPath = join(dir, 'cloudformation-template-update-stack.json');
  let packaged: Template;
  try {
    packaged = JSON.parse(readFileSync(packagedPath, 'utf8'));
  } catch {
    throw new Error(`cannot read ${packagedPath}: run \`npx serverless package\` first`);
  }
  const zipFiles = readdirSync(dir)
    .filter((file) => file.endsWith('.zip'))
    .map((file) => join(dir, file));
  let prefix = values.prefix ?? defaultPrefix(zipFiles);
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  const { template, zips } = stackSetTemplate(packaged, {
    bucket: values.bucket,
    prefix,
    regional: values.regional,
  });
  const missing = zips.filter((zip) => !zipFiles.some((file) => basename(file) === zip));
  if (missing.length > 0)
    throw new Error(
      `${missing.join(', ')} not found in ${dir}: run \`npx serverless package\` again`,
    );
  const body = JSON.stringify(template);
  const size = Buffer.byteLength(body);
  if (size > TEMPLATE_BODY_LIMIT && !values['template-url'])
    throw new Error(
      `the template is ${size} bytes, over the ${TEMPLATE_BODY_LIMIT} bytes --template-body takes: run again with --template-url to upload it to S3 and pass its URL instead`,
    );
  writeFileSync(values.out, body);
  // With --regional, REGION stands for each target region: upload to every one of its buckets.
  const target = values.regional ? `${values.bucket}-REGION` : values.bucket;
  const lines = [
    `wrote ${values.out} (${size} bytes, limit for --template-body ${TEMPLATE_BODY_LIMIT})`,
    `the functions read their code from s3://${target}/${prefix}; upload the zips:`,
    ...zips.map((zip) => `  aws s3 cp ${join(dir, zip)} s3://${target}/${prefix}${zip}`),
  ];
  if (values['template-url']) {
    const key = `${prefix}${basename(values.out)}`;
    lines.push(
      'upload the template and create the StackSet with its URL:',
      `  aws s3 cp ${values.out} s3://${target}/${key}`,
      `  --template-url https://${target}.s3.amazonaws.com/${key}`,
    );
  } else lines.push(`create the StackSet with --template-body file://${values.out}`);
  console.log(lines.join('\n'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`stackset-template: ${(error as Error).message}`);
    process.exit(1);
  }
}
