// The shape of bench/results/<timestamp>.json (schemaVersion 1). latest.md and the SVG are rendered from it.

export type Better = 'lower' | 'higher';

/** One measured quantity: EmboFlow against its baseline (ratio = emboflow / baseline) and the peers. */
export interface Row {
  /** Stable key, `<scenario>.<metric>`, that peers' figures are matched on. */
  key: string;
  scenario: string;
  metric: string;
  unit: string;
  better: Better;
  emboflow: number | null;
  /** null when there is no baseline for this quantity (for example MongoDB writes: raw Temporal writes none). */
  baseline: number | null;
  ratio: number | null;
  peers: Record<string, number | null>;
  note?: string;
}

export interface Target {
  id: string;
  description: string;
  value: number | null;
  threshold: string;
  met: boolean | null;
  note?: string;
}

export interface ScenarioReport {
  id: string;
  title: string;
  status: 'ok' | 'failed' | 'skipped';
  /** Why it failed or was skipped, verbatim. */
  error?: string;
  params: Record<string, number | string | boolean>;
  durationMs: number;
  rows: Row[];
  details: Record<string, unknown>;
}

export interface PeerInfo {
  status: 'ok' | 'skipped' | 'failed';
  versions?: Record<string, string>;
  reason?: string;
  mode?: string;
  results?: PeerResults;
}

/** What a peer runner prints (JSON) for the shapes it supports. */
export interface PeerResults {
  s1?: {
    nodes: number;
    makespanMs: number;
    perNodeP50Ms: number;
    perNodeP95Ms: number;
    perNodeMeanMs: number;
    peakRssBytes?: number;
  };
  s2?: { width: number; makespanMs: number; tasksPerSec: number; perNodeMeanMs: number; peakRssBytes?: number };
  notes?: string[];
}

/** One bar group of the per-node overhead chart. */
export interface ChartGroup {
  label: string;
  values: Record<string, number | null>;
}

export interface BenchReport {
  schemaVersion: 1;
  mode: 'full' | 'smoke';
  startedAt: string;
  finishedAt: string;
  machine: {
    cpus: number;
    memGiB: number;
    node: string;
    platform: string;
    loadAvgAtStart: number[];
    temporalServer?: string;
  };
  settings: Record<string, number | string | boolean>;
  peers: Record<string, PeerInfo>;
  scenarios: ScenarioReport[];
  targets: Target[];
  chart: { title: string; unit: string; groups: ChartGroup[] };
  notes: string[];
}

export function row(
  scenario: string,
  metric: string,
  key: string,
  unit: string,
  better: Better,
  emboflow: number | null,
  baseline: number | null,
  note?: string,
): Row {
  const ratio =
    emboflow !== null && baseline !== null && baseline > 0 && Number.isFinite(emboflow) ? emboflow / baseline : null;
  return {
    key: `${scenario.toLowerCase()}.${key}`,
    scenario,
    metric,
    unit,
    better,
    emboflow,
    baseline,
    ratio,
    peers: {},
    ...(note ? { note } : {}),
  };
}
