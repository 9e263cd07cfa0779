// A grouped horizontal bar chart (log scale) of per-node time by scenario, drawn as plain SVG.
import type { BenchReport } from './types';

const COLORS = ['#2b6cb0', '#a0aec0', '#dd6b20', '#38a169', '#805ad5', '#d53f8c'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderChart(chart: BenchReport['chart']): string {
  const series = [...new Set(chart.groups.flatMap((g) => Object.keys(g.values)))];
  const values = chart.groups
    .flatMap((g) => Object.values(g.values))
    .filter((v): v is number => v !== null && v > 0 && Number.isFinite(v));
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, 10))));
  const left = 240;
  const plotW = 560;
  const barH = 14;
  const groupGap = 14;
  const top = 56;
  const x = (v: number) => left + (plotW * (Math.log10(v) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const groupH = (g: (typeof chart.groups)[number]) => Object.keys(g.values).length * barH + groupGap;
  const height = top + chart.groups.reduce((s, g) => s + groupH(g), 0) + 40;
  const width = left + plotW + 120;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
  );
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${left}" y="18" font-size="14" font-weight="bold">${esc(chart.title)}</text>`);
  series.forEach((s, i) => {
    const lx = left + i * 110;
    parts.push(
      `<rect x="${lx}" y="28" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${lx + 14}" y="37">${esc(s)}</text>`,
    );
  });
  for (let d = lo; d <= hi; d *= 10) {
    const gx = x(d);
    parts.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${height - 30}" stroke="#e2e8f0"/>`);
    parts.push(
      `<text x="${gx}" y="${height - 16}" text-anchor="middle" fill="#4a5568">${d >= 1 ? d : d.toFixed(-Math.log10(d))} ${esc(chart.unit)}</text>`,
    );
  }
  let y = top;
  for (const g of chart.groups) {
    parts.push(
      `<text x="${left - 8}" y="${y + (Object.keys(g.values).length * barH) / 2 + 4}" text-anchor="end" font-weight="bold">${esc(g.label)}</text>`,
    );
    for (const s of series) {
      if (!(s in g.values)) continue;
      const v = g.values[s];
      const color = COLORS[series.indexOf(s) % COLORS.length];
      if (v !== null && v !== undefined && v > 0 && Number.isFinite(v)) {
        parts.push(
          `<rect x="${left}" y="${y}" width="${Math.max(1, x(v) - left)}" height="${barH - 3}" fill="${color}"><title>${esc(s)}: ${v}</title></rect>`,
        );
        parts.push(
          `<text x="${x(v) + 4}" y="${y + barH - 5}" fill="#2d3748">${v < 10 ? v.toFixed(2) : Math.round(v)}</text>`,
        );
      } else {
        parts.push(`<text x="${left + 4}" y="${y + barH - 5}" fill="#a0aec0">${esc(s)}: n/a</text>`);
      }
      y += barH;
    }
    y += groupGap;
  }
  parts.push('</svg>');
  return parts.join('\n');
}
