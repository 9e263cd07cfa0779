import { checkExpression, evaluate } from '../../src/dag/expr';

const scope = {
  result: { valid: true, rows: 240, format: 'csv', tags: ['arm', 'teleop'], nested: { score: 0.93 } },
  inputs: { probe: { rows: 240 }, validate: { valid: false } },
};

test.each([
  ['result.valid == true', true],
  ['result.rows > 100 && result.format == "csv"', true],
  ["result.format != 'csv' || result.rows >= 240", true],
  ['!(result.rows < 10)', true],
  ['"arm" in result.tags', true],
  ['result.format in ["csv", "hdf5"]', true],
  ['"tele" in "teleop"', true],
  ['result.nested.score >= 0.9', true],
  ['result.tags[1] == "teleop"', true],
  ['inputs.validate.valid', false],
  ['inputs.probe.rows == result.rows', true],
  ['result.missing.deep == null', true],
  ['result.rows > "100"', false],
  ['result.tags == ["arm", "teleop"]', true],
  ['result.constructor == null', true],
  ['result.__proto__ == null', true],
  ['-1.5e1 < 0', true],
])('%s → %s', (src, expected) => {
  expect(evaluate(src, scope)).toBe(expected);
});

test.each([
  ['result.rows >', 'unexpected end of expression at position 13'],
  ['result.rows > > 1', 'unexpected ">" at position 14'],
  ['(result.valid', 'expected ")" at position 13'],
  ["'open", 'unterminated string at position 0'],
  ['result.rows ; 1', 'unexpected character ";" at position 12'],
  ['process.exit()', 'unexpected "(" at position 12'],
  ['a.', 'expected a field name after "." at position 2'],
])('rejects %s with its position', (src, message) => {
  expect(checkExpression(src)).toBe(message);
});

test('deep nesting and very long expressions are refused, not evaluated', () => {
  expect(checkExpression(`${'('.repeat(40)}1${')'.repeat(40)}`)).toMatch(/nested deeper than 32/);
  expect(checkExpression('1 == 1 && '.repeat(300) + '1')).toMatch(/longer than 2000/);
});
