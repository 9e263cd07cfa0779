/** The bench's smoke variant, run for real: alone, after the integration suites, so it measures a quiet machine. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/bench'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 600_000,
  maxWorkers: 1,
  forceExit: true,
};
