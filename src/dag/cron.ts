// Cron expressions as schedules take them: checked here so that a bad one is a 400 naming the field before Temporal
// sees it. Five fields (minute hour day-of-month month day-of-week) separated by single spaces, or one of the @
// shorthands. CRON_PATTERN accepts exactly what cronProblem accepts (the OpenAPI document states it).

const SHORTHANDS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
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

/** A value of the field: a number in range (one leading zero allowed) or a name in either case. */
function valuePattern(field: Field): string {
  const numbers: string[] = [];
  for (let n = field.min; n <= field.max; n++) numbers.push(n < 10 ? `0?${n}` : String(n));
  const names = (field.names ?? []).map((name) => [name, name.toLowerCase()].join('|'));
  return `(?:${[...names, ...numbers].join('|')})`;
}

/** A step: 1 to 999, leading zeros allowed. */
const STEP = '(?:0{0,2}[1-9]|0?[1-9][0-9]|[1-9][0-9]{2})';

function fieldPattern(field: Field): string {
  const value = valuePattern(field);
  const item = `(?:(?:\\*|\\?|${value}(?:-${value})?)(?:/${STEP})?)`;
  return `${item}(?:,${item})*`;
}

export const CRON_PATTERN = new RegExp(`^(?:${SHORTHANDS.join('|')}|${FIELDS.map(fieldPattern).join(' ')})$`);

function valueOf(token: string, field: Field): number | undefined {
  const named = field.names?.findIndex((n) => n === token || n.toLowerCase() === token) ?? -1;
  if (named >= 0) return named + (field.namesFrom ?? 0);
  if (!/^\d{1,2}$/.test(token)) return undefined;
  const n = Number(token);
  return n >= field.min && n <= field.max ? n : undefined;
}

function itemProblem(item: string, field: Field): string | undefined {
  const [range, step, extra] = item.split('/');
  if (extra !== undefined) return `"${item}" has two steps`;
  if (step !== undefined && !(/^\d{1,3}$/.test(step) && Number(step) >= 1)) return `"${step}" is not a step (1-999)`;
  if (range === '*' || range === '?') return undefined;
  const [from, to, beyond] = range!.split('-');
  if (beyond !== undefined) return `"${range}" is not a range`;
  for (const end of to === undefined ? [from!] : [from!, to]) {
    if (valueOf(end, field) === undefined) return `"${end}" is not a ${field.name} (${field.min}-${field.max})`;
  }
  return undefined;
}

/** Why a cron expression would not parse, or undefined when it does. */
export function cronProblem(expression: string): string | undefined {
  if (expression.startsWith('@')) {
    return SHORTHANDS.includes(expression) ? undefined : `unknown shorthand ${expression} (${SHORTHANDS.join(', ')})`;
  }
  const parts = expression.split(' ');
  if (parts.length !== FIELDS.length) {
    return `a cron has ${FIELDS.length} fields (minute hour day-of-month month day-of-week) separated by single spaces`;
  }
  for (let i = 0; i < FIELDS.length; i++) {
    for (const item of parts[i]!.split(',')) {
      const problem = item === '' ? 'an empty list item' : itemProblem(item, FIELDS[i]!);
      if (problem) return `${FIELDS[i]!.name}: ${problem}`;
    }
  }
  // The pattern and the walk above agree; this guards the two against drifting apart.
  return CRON_PATTERN.test(expression) ? undefined : 'not a cron expression';
}
