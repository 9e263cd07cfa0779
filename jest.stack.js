/**
 * The jest settings of every suite that runs on the real stack (`npm run stack`): `roots` are its test folders,
 * `maxWorkers` how many files run at once (1 for suites that must run alone), `testTimeout` per test.
 */
module.exports = function stackSuite({ roots, maxWorkers, testTimeout }) {
  return {
    testEnvironment: 'node',
    roots: roots.map((r) => `<rootDir>/${r}`),
    testMatch: ['**/*.test.ts'],
    transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
    globalSetup: '<rootDir>/test/support/global-setup.ts',
    testTimeout,
    maxWorkers,
    // A failed beforeAll can leave a client open; CI must still end.
    forceExit: true,
  };
};
