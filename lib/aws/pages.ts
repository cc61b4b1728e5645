/** Reads every page of a list call: `fetch` gets the token of the page to read. */
export async function allPages<T>(
  fetch: (
    token: string | undefined,
  ) => Promise<{ items: T[] | undefined; next: string | undefined }>,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  const seen = new Set<string>();
  do {
    const page = await fetch(token);
    items.push(...(page.items ?? []));
    token = page.next || undefined;
    // A token that comes back twice would loop forever; AWS never does it, a broken proxy might.
    if (token !== undefined) {
      if (seen.has(token)) throw new Error(`pagination token repeated: ${token.slice(0, 40)}`);
      seen.add(token);
    }
  } while (token !== undefined);
  return items;
}

/** Splits a list into chunks of at most `size` (describe calls take 10 or 100 at a time). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** One line that says what an AWS error was, without its stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const message = error.message.split('\n')[0] ?? '';
    if (error.name === 'Error' && message) return message;
    return message && message !== error.name ? `${error.name}: ${message}` : error.name;
  }
  return String(error);
}
