// bench/results/latest.md from the JSON report.
import type { BenchReport, Row } from './types';

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(a >= 1 ? 2 : 3);
}

function ratio(r: Row): string {
  if (r.ratio === null) return '—';
  return `${r.ratio.toFixed(2)}×`;
}

function peers(r: Row): string {
  const parts = Object.entries(r.peers).map(([name, v]) => `${name} ${fmt(v)}`);
  return parts.length ? parts.join(' · ') : '';
}

export function renderMarkdown(report: BenchReport): string {
  const out: string[] = [];
  out.push(`# EmboFlow bench — ${report.mode} run`, '');
  out.push(
    `${report.startedAt} → ${report.finishedAt}; ${report.machine.cpus} cores, ${report.machine.memGiB} GiB, Node ${report.machine.node}` +
      `${report.machine.temporalServer ? `, Temporal server ${report.machine.temporalServer}` : ''}; load average at start ${report.machine.loadAvgAtStart.map((l) => l.toFixed(2)).join(' / ')}.`,
    '',
  );
  out.push(
    'Ratio = EmboFlow ÷ baseline (the baseline is the floor: raw Temporal, raw dockerode, or a naive mirror write). The "better" column says which direction wins.',
    '',
  );
  out.push(
    '| scenario | metric | unit | better | EmboFlow | baseline | ratio | peers |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | --- |',
  );
  for (const s of report.scenarios) {
    if (s.status === 'skipped') {
      out.push(`| ${s.id} | _skipped: ${s.error ?? ''}_ | | | | | | |`);
      continue;
    }
    for (const r of s.rows) {
      out.push(
        `| ${r.scenario} | ${r.metric}${r.note ? ` (${r.note})` : ''} | ${r.unit} | ${r.better} | ${fmt(r.emboflow)} | ${fmt(r.baseline)} | ${ratio(r)} | ${peers(r)} |`,
      );
    }
  }
  out.push('', '## Targets', '', '| target | value | threshold | met |', '| --- | ---: | --- | --- |');
  for (const t of report.targets) {
    const met = t.met === null ? 'n/a' : t.met ? '**met**' : '**missed**';
    out.push(`| ${t.description}${t.note ? ` — ${t.note}` : ''} | ${fmt(t.value)} | ${t.threshold} | ${met} |`);
  }
  out.push('', '## Scenarios', '');
  for (const s of report.scenarios) {
    const params = Object.entries(s.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    out.push(
      `- **${s.id} ${s.title}** (${params}): ${s.status}, ${(s.durationMs / 1000).toFixed(1)} s${s.error ? ` — ${s.error}` : ''}`,
    );
    const def = (s.details as { definition?: string }).definition;
    if (def) out.push(`  - ${def}`);
  }
  out.push('', '## Peers', '');
  for (const [name, p] of Object.entries(report.peers)) {
    const versions = p.versions
      ? Object.entries(p.versions)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')
      : '';
    out.push(
      `- **${name}**: ${p.status}${versions ? ` (${versions})` : ''}${p.mode ? ` — ${p.mode}` : ''}${p.reason ? ` — ${p.reason.replace(/\n/g, ' ')}` : ''}`,
    );
    for (const n of p.results?.notes ?? []) out.push(`  - ${n}`);
  }
  if (report.notes.length) {
    out.push('', '## Notes', '');
    for (const n of report.notes) out.push(`- ${n}`);
  }
  out.push(
    '',
    `Settings: ${Object.entries(report.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
    '',
  );
  out.push('![per-node overhead](per-node-overhead.svg)', '');
  return out.join('\n');
}
