/** Integration and end-to-end tests: the real Temporal, MongoDB-compatible server, Docker and S3 of `npm run stack`. */
module.exports = require('./jest.stack')({
  roots: ['test/integration', 'test/e2e'],
  maxWorkers: 2,
  testTimeout: 180_000,
});
