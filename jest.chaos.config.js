/** Chaos tests kill and restart shared servers: they run alone, one at a time, after the other suites. */
module.exports = require('./jest.stack')({ roots: ['test/chaos'], maxWorkers: 1, testTimeout: 600_000 });
