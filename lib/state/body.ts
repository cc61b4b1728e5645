/**
 * An item's `body` attribute (JSON) as `T`, or null when it is missing, not JSON, or not one this
 * version wrote (`isT` says which).
 */
export function parseBody<T>(
  body: string | undefined,
  isT: (value: Partial<T>) => boolean,
): T | null {
  if (!body) return null;
  try {
    const value = JSON.parse(body) as Partial<T>;
    return isT(value) ? (value as T) : null;
  } catch {
    return null;
  }
}
