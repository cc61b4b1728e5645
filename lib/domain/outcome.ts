/** What became of one action: the closed set of outcomes the CLI contract names. */
export interface Outcome {
  kind: string;
  target: string;
  status: 'planned' | 'done' | 'failed' | 'skipped';
  detail: string;
}
