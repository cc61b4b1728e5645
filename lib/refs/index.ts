export {
  accountOf,
  contextOfArn,
  isAccount,
  isRegion,
  lastPart,
  partitionOf,
  regionOf,
  siblingArn,
  splitArn,
} from './arn.js';
export { clusterLink, consoleUrl, consumerLink, resourcePath } from './console.js';
export {
  jobDefinitionReferences,
  type ReadOptions,
  readDefinitions,
  taskDefinitionReferences,
} from './definitions.js';
export { InvalidReferenceError, RefsError, UnrecognizedDefinitionError } from './errors.js';
export { type Relevance, refersTo, relevance } from './match.js';
export {
  parameterArn,
  parameterKey,
  resolveReference,
  SECRETS_MANAGER_REFERENCE_PREFIX,
  secretNamesOfArn,
} from './target.js';
