import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { blockIn, renderBlocks, withBlock } from '../../scripts/docs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const pages = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** Every relative link target of a Markdown page, code blocks and spans left out. */
function relativeLinks(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'));
}

describe('the docs figures', () => {
  describe.each(renderBlocks(ROOT))('$page, block $name', ({ page, name, text }) => {
    it('is what npm run docs renders from its JSON', () => {
      const current = blockIn(readFileSync(join(ROOT, page), 'utf8'), name);
      expect(current, `${page} has no ${name} markers`).not.toBeNull();
      expect(current, `${page} (${name}) differs from its JSON: run npm run docs`).toBe(text);
    });
  });

  it('replaces only what is between the markers', () => {
    const page = 'before\n<!-- x:start -->\nold\n<!-- x:end -->\nafter\n';
    expect(withBlock(page, 'x', 'new\n')).toBe(
      'before\n<!-- x:start -->\nnew\n<!-- x:end -->\nafter\n',
    );
  });
});

describe('the links of README.md and docs/', () => {
  it.each(pages)('%s links only to files that exist', (page) => {
    const text = readFileSync(join(ROOT, page), 'utf8');
    const missing = relativeLinks(text)
      .map((target) => decodeURI(target.split('#')[0] as string))
      .filter((target) => target && !existsSync(resolve(dirname(join(ROOT, page)), target)));
    expect(missing).toEqual([]);
  });

  it('finds the relative links of a page', () => {
    expect(
      relativeLinks('[a](docs/a.md) [b](https://x.test) [c](#here) `[d](no.md)` ![e](e.svg#x)'),
    ).toEqual(['docs/a.md', 'e.svg#x']);
  });
});
