/** Server-failure chaos tests (Temporal restart, MongoDB outage): alone; not in `npm test` until they pass here. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/chaos-servers'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 600_000,
  maxWorkers: 1,
  forceExit: true,
};
