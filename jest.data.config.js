/**
 * Gigabytes through the pipeline: its suites move files of several GiB and time the worker's memory, so they run
 * alone (nothing else competing for disk, CPU and the worker's RSS), after the integration and e2e suites.
 */
module.exports = require('./jest.stack')({ roots: ['test/data'], maxWorkers: 1, testTimeout: 45 * 60_000 });
