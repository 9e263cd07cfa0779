/** Integration and end-to-end tests: the real Temporal, MongoDB-compatible server, Docker and S3 of `npm run stack`. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/integration', '<rootDir>/test/e2e'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 180_000,
  maxWorkers: 2,
  // A failed beforeAll can leave a client open; CI must still end.
  forceExit: true,
};
