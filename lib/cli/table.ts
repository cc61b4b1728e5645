/** How a text table is laid out: the width it must fit, and whether it may use colour. */
export interface Layout {
  /** Characters per line; `null` prints every cell whole (`--wide`). */
  width: number | null;
  colour: boolean;
}

/** Where a table goes when stdout is not a terminal and `--wide` is not given. */
export const PIPED_WIDTH = 100;

/** The cells a cut column keeps at least, so that it still says something. */
const MIN_CUT = 12;
/** What the columns after the first of `cut` keep before the first is cut (a name stays readable). */
const KEEP_BEFORE_FIRST = 24;

export interface TableOptions {
  /** The width to fit (`null` or absent: every cell whole). */
  width?: number | null;
  /**
   * The columns that may be cut to fit, the one that says most first (a reason): the others are
   * cut to 24 characters before it is cut at all, then it, then all of them down to a few
   * characters; a cut cell ends with `…`. Other columns are never cut.
   */
  cut?: number[];
  /** Colours a cell (already padded), by its row (0 the first row under the header) and column. */
  paint?: (cell: string, row: number, column: number) => string;
}

/**
 * Renders rows as a plain-text table with a header, columns padded to their widest cell; with a
 * `width`, the `cut` columns are shortened (with `…`) until each line fits.
 */
export function table(header: string[], rows: string[][], options: TableOptions = {}): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  fitWidths(widths, header, options);
  const line = (cells: string[], row: number) =>
    cells
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        const text = ellipsis(cell, width);
        const padded = column === cells.length - 1 ? text : text.padEnd(width);
        return row >= 0 && options.paint ? options.paint(padded, row, column) : padded;
      })
      .join(GAP)
      .trimEnd();
  return `${[line(header, -1), ...rows.map(line)].join('\n')}\n`;
}

const GAP = '  ';

/** Shrinks the `cut` columns of `widths` (see TableOptions.cut) until a line fits `options.width`. */
function fitWidths(widths: number[], header: string[], options: TableOptions): void {
  const { width, cut = [] } = options;
  if (width === null || width === undefined) return;
  let over = widths.reduce((sum, w) => sum + w, 0) + GAP.length * (widths.length - 1) - width;
  const shrink = (column: number, floor: number) => {
    if (over <= 0) return;
    const now = widths[column] ?? 0;
    const least = Math.min(now, Math.max(floor, (header[column] ?? '').length));
    const taken = Math.min(over, now - least);
    widths[column] = now - taken;
    over -= taken;
  };
  const [first, ...rest] = cut;
  for (const column of rest) shrink(column, KEEP_BEFORE_FIRST);
  if (first !== undefined) shrink(first, MIN_CUT);
  for (const column of rest) shrink(column, MIN_CUT);
}

/** `text` within `width` characters, its end replaced by `…` when it is longer. */
export function ellipsis(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  return `${text.slice(0, width - 1).trimEnd()}…`;
}

/** The layout of a command's tables: `--wide`, else the terminal's width, else PIPED_WIDTH. */
export function layoutOf(
  values: { wide?: unknown },
  io: { columns?: number; colour?: boolean },
): Layout {
  const width = values.wide ? null : io.columns && io.columns > 0 ? io.columns : PIPED_WIDTH;
  return { width, colour: Boolean(io.colour) };
}

export type Colour = 'red' | 'green' | 'yellow' | 'dim' | 'bold';

const SGR: Record<Colour, string> = { red: '31', green: '32', yellow: '33', dim: '2', bold: '1' };

/** `text` in a colour (ANSI SGR), or as it is when colour is off. */
export function paint(text: string, colour: Colour | null, on: boolean): string {
  if (!on || colour === null || text.length === 0) return text;
  return `\x1b[${SGR[colour]}m${text}\x1b[0m`;
}

/** Makes a user-supplied string safe to print on one terminal line (no control characters). */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
