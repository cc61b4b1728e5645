// The benchmark's scale curve as a small SVG: AWS calls and seconds against account size, one
// line per run, log scales (the naive watcher is two orders of magnitude above the rest).

interface ChartRun {
  calls: number;
  ms: number;
}

interface ChartReport {
  sizes: Array<{
    name: string;
    tasks: number;
    runs: Partial<Record<string, ChartRun>>;
    lowerBound: { indexed: { calls: number; seconds: number } };
  }>;
}

const SERIES: Array<{ run: string; label: string; color: string; dash?: string }> = [
  { run: 'naive', label: 'naive', color: '#b91c1c' },
  { run: 'competent', label: 'competent (no index)', color: '#d97706' },
  { run: 'emptyIndex', label: 'ours, empty index', color: '#7c3aed' },
  { run: 'warmIndex', label: 'ours, warm index (cold process)', color: '#2563eb' },
  { run: 'warmProcess', label: 'ours, warm in-process', color: '#059669' },
  { run: 'bound', label: 'lower bound, indexed', color: '#6b7280', dash: '4 3' },
];

const WIDTH = 800;
const HEIGHT = 320;
const PANEL = { width: 300, height: 200, top: 40, left: [70, 450] };

/** The SVG text of the chart. */
export function renderChart(report: ChartReport): string {
  const sizes = report.sizes;
  const value = (size: ChartReport['sizes'][number], run: string, field: 'calls' | 'seconds') => {
    if (run === 'bound')
      return field === 'calls' ? size.lowerBound.indexed.calls : size.lowerBound.indexed.seconds;
    const measured = size.runs[run];
    if (!measured) return undefined;
    return field === 'calls' ? measured.calls : measured.ms / 1000;
  };
  const panels = (['calls', 'seconds'] as const).map((field, p) => {
    const left = PANEL.left[p] as number;
    const all = sizes.flatMap((size) =>
      SERIES.map((s) => value(size, s.run, field)).filter(
        (v): v is number => v !== undefined && v > 0,
      ),
    );
    const lo = 10 ** Math.floor(Math.log10(Math.min(...all, 1)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, 10)));
    const x = (i: number) =>
      left + (sizes.length === 1 ? PANEL.width / 2 : (i * PANEL.width) / (sizes.length - 1));
    const y = (v: number) =>
      PANEL.top +
      PANEL.height -
      ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * PANEL.height;
    const parts: string[] = [];
    parts.push(
      `<text x="${left + PANEL.width / 2}" y="${PANEL.top - 14}" text-anchor="middle" font-weight="bold">${field === 'calls' ? 'AWS calls' : 'seconds'} (log scale)</text>`,
      `<rect x="${left}" y="${PANEL.top}" width="${PANEL.width}" height="${PANEL.height}" fill="none" stroke="#d1d5db"/>`,
    );
    for (let decade = lo; decade <= hi; decade *= 10) {
      parts.push(
        `<line x1="${left}" x2="${left + PANEL.width}" y1="${y(decade).toFixed(1)}" y2="${y(decade).toFixed(1)}" stroke="#f3f4f6"/>`,
        `<text x="${left - 6}" y="${(y(decade) + 4).toFixed(1)}" text-anchor="end">${decade >= 1 ? decade.toLocaleString('en-US') : decade}</text>`,
      );
    }
    sizes.forEach((size, i) => {
      parts.push(
        `<text x="${x(i).toFixed(1)}" y="${PANEL.top + PANEL.height + 16}" text-anchor="middle">${size.name}</text>`,
        `<text x="${x(i).toFixed(1)}" y="${PANEL.top + PANEL.height + 30}" text-anchor="middle" fill="#6b7280">${size.tasks.toLocaleString('en-US')} tasks</text>`,
      );
    });
    for (const series of SERIES) {
      const points = sizes
        .map((size, i) => [i, value(size, series.run, field)] as const)
        .filter(
          (point): point is readonly [number, number] => point[1] !== undefined && point[1] > 0,
        );
      if (points.length === 0) continue;
      parts.push(
        `<polyline fill="none" stroke="${series.color}" stroke-width="2"${series.dash ? ` stroke-dasharray="${series.dash}"` : ''} points="${points.map(([i, v]) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
        ...points.map(
          ([i, v]) =>
            `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${series.color}"/>`,
        ),
      );
    }
    return parts.join('\n');
  });
  const legend = SERIES.map((series, i) => {
    const lx = 70 + (i % 3) * 230;
    const ly = PANEL.top + PANEL.height + 54 + Math.floor(i / 3) * 16;
    return `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${series.color}" stroke-width="2"${series.dash ? ` stroke-dasharray="${series.dash}"` : ''}/><text x="${lx + 24}" y="${ly}">${series.label}</text>`;
  }).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">
<title>rotation-watcher benchmark: AWS calls and seconds against account size, per run (log scales)</title>
<rect width="100%" height="100%" fill="white"/>
${panels.join('\n')}
${legend}
</svg>
`;
}
