// Counts what a MongoClient sends, from the driver's own command monitoring ('commandStarted' events).
// A write command (insert/update/delete/findAndModify) is one round trip; its statements are the documents it
// inserts or the update/delete specs it carries (a bulkWrite of 10 updateOne is 1 command, 10 statements).
import type { CommandStartedEvent, MongoClient } from 'mongodb';

const WRITE_COMMANDS: Record<string, string | undefined> = {
  insert: 'documents',
  update: 'updates',
  delete: 'deletes',
  findAndModify: undefined,
};
const READ_COMMANDS = new Set(['find', 'getMore', 'aggregate', 'count', 'distinct']);

export interface CommandCounts {
  writeCommands: number;
  writeStatements: number;
  readCommands: number;
  /** Write statements per collection. */
  byCollection: Record<string, number>;
}

export class CommandCounter {
  private counts: CommandCounts = CommandCounter.empty();

  /** The client must have been created with `monitorCommands: true`. */
  constructor(client: MongoClient) {
    client.on('commandStarted', (e) => this.observe(e));
  }

  static empty(): CommandCounts {
    return { writeCommands: 0, writeStatements: 0, readCommands: 0, byCollection: {} };
  }

  private observe(e: CommandStartedEvent): void {
    if (e.commandName in WRITE_COMMANDS) {
      const field = WRITE_COMMANDS[e.commandName];
      const list = field ? (e.command[field] as unknown[] | undefined) : undefined;
      const statements = list?.length ?? 1;
      const collection = String(e.command[e.commandName]);
      this.counts.writeCommands++;
      this.counts.writeStatements += statements;
      this.counts.byCollection[collection] = (this.counts.byCollection[collection] ?? 0) + statements;
    } else if (READ_COMMANDS.has(e.commandName)) {
      this.counts.readCommands++;
    }
  }

  /** The counts so far; `reset` starts a new window. */
  take(reset = false): CommandCounts {
    const out = { ...this.counts, byCollection: { ...this.counts.byCollection } };
    if (reset) this.counts = CommandCounter.empty();
    return out;
  }
}
