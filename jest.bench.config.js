/** The bench's smoke variant, run for real: alone, after the integration suites, so it measures a quiet machine. */
module.exports = require('./jest.stack')({ roots: ['test/bench'], maxWorkers: 1, testTimeout: 600_000 });
