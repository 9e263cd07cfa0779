// Cron expressions as schedules take them: checked here so that a bad one is a 400 naming the field before Temporal
// sees it. Five fields (minute hour day-of-month month day-of-week) or one of the @ shorthands.

const SHORTHANDS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** Names count from this number (months from 1, days from 0). */
  namesFrom?: number;
}

const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesFrom: 0 },
];

function valueOf(token: string, field: Field): number | undefined {
  const named = field.names?.indexOf(token.toUpperCase()) ?? -1;
  if (named >= 0) return named + (field.namesFrom ?? 0);
  if (!/^\d{1,2}$/.test(token)) return undefined;
  const n = Number(token);
  return n >= field.min && n <= field.max ? n : undefined;
}

function itemProblem(item: string, field: Field): string | undefined {
  const [range, step, extra] = item.split('/');
  if (extra !== undefined) return `"${item}" has two steps`;
  if (step !== undefined && !(/^\d{1,3}$/.test(step) && Number(step) >= 1)) return `"${step}" is not a step`;
  if (range === '*' || range === '?') return undefined;
  const [from, to, beyond] = range!.split('-');
  if (beyond !== undefined) return `"${range}" is not a range`;
  const lo = valueOf(from!, field);
  if (lo === undefined) return `"${from}" is not a ${field.name} (${field.min}-${field.max})`;
  if (to === undefined) return undefined;
  const hi = valueOf(to, field);
  if (hi === undefined) return `"${to}" is not a ${field.name} (${field.min}-${field.max})`;
  return hi < lo ? `"${range}" runs backwards` : undefined;
}

/** Why a cron expression would not parse, or undefined when it does. */
export function cronProblem(expression: string): string | undefined {
  const text = expression.trim();
  if (text.startsWith('@')) {
    return SHORTHANDS.has(text.toLowerCase()) ? undefined : `unknown shorthand ${text}`;
  }
  const parts = text.split(/\s+/);
  if (parts.length !== FIELDS.length) {
    return `a cron has ${FIELDS.length} fields (minute hour day-of-month month day-of-week), this has ${parts.length}`;
  }
  for (let i = 0; i < FIELDS.length; i++) {
    for (const item of parts[i]!.split(',')) {
      const problem = item === '' ? 'an empty list item' : itemProblem(item, FIELDS[i]!);
      if (problem) return `${FIELDS[i]!.name}: ${problem}`;
    }
  }
  return undefined;
}
