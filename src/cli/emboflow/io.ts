// The process boundary of the CLI: streams, environment, stdin, Ctrl-C. Commands see only this interface, so
// tests can drive them with captured output.
import { homedir } from 'node:os';

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

export interface Io {
  stdout: Output;
  stderr: Output;
  env: Readonly<Record<string, string | undefined>>;
  homeDir: string;
  readStdin(): Promise<string>;
  /** Runs `handler` on Ctrl-C before the process exits with 130; returns the unregister function. */
  onInterrupt(handler: () => void): () => void;
}

export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    homeDir: homedir(),
    async readStdin() {
      let text = '';
      process.stdin.setEncoding('utf8');
      for await (const chunk of process.stdin) text += String(chunk);
      return text;
    },
    onInterrupt(handler) {
      const listener = () => {
        handler();
        process.exit(130);
      };
      process.once('SIGINT', listener);
      return () => process.off('SIGINT', listener);
    },
  };
}
