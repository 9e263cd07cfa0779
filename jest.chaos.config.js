/** Chaos tests kill and restart shared servers: they run alone, one at a time, after the other suites. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/chaos'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 600_000,
  maxWorkers: 1,
  forceExit: true,
};
