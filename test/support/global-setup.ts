import { stackEnv } from './stack';

/** Fails fast, with the fix, when the stack is not up. */
export default async function globalSetup(): Promise<void> {
  stackEnv();
}
