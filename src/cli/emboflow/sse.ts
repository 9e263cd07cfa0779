// Server-Sent Events over a fetch body, parsed as the WHATWG spec says: lines end in CRLF, LF or CR (a CRLF may be
// split across chunks), `:` starts a comment, a blank line dispatches, data lines join with LF, a leading BOM is
// dropped, and an event left unfinished when the stream ends is discarded.

export interface SseEvent {
  /** The `event:` field, `message` when absent. */
  type: string;
  data: string;
  /** The last `id:` seen so far, to resume with Last-Event-ID. */
  id?: string;
}

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private partial = '';
  private afterCR = false;
  private started = false;
  private type = '';
  private data: string[] = [];
  lastEventId = '';
  /** The server's requested reconnection delay (`retry:`), when it sent one. */
  retryMs: number | undefined;

  /** Feeds the next chunk (bytes may split a UTF-8 sequence anywhere); answers the events it completed. */
  push(chunk: Uint8Array | string): SseEvent[] {
    return this.consume(typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
  }

  /** The stream ended: flushes the decoder; an event without its blank line is dropped, as the spec says. */
  end(): SseEvent[] {
    const events = this.consume(this.decoder.decode());
    this.partial = '';
    this.data = [];
    this.type = '';
    return events;
  }

  private consume(text: string): SseEvent[] {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.afterCR) {
        this.afterCR = false;
        if (c === 10) {
          start = i + 1;
          continue;
        }
      }
      if (c !== 10 && c !== 13) continue;
      const line = this.partial + text.slice(start, i);
      this.partial = '';
      this.afterCR = c === 13;
      start = i + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.partial += text.slice(start);
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^[0-9]+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const type = this.type || 'message';
    const data = this.data;
    this.type = '';
    this.data = [];
    if (data.length === 0) return undefined;
    return { type, data: data.join('\n'), ...(this.lastEventId ? { id: this.lastEventId } : {}) };
  }
}

export interface SseStream {
  events: AsyncIterable<SseEvent>;
  /** Ends the stream from outside; a pending read finishes at once. */
  close(): void;
  readonly parser: SseParser;
}

export function readSse(body: ReadableStream<Uint8Array>): SseStream {
  const parser = new SseParser();
  const reader = body.getReader();
  let closed = false;
  async function* events(): AsyncGenerator<SseEvent> {
    try {
      while (!closed) {
        const { done, value } = await reader.read();
        if (done) break;
        yield* parser.push(value);
      }
      if (!closed) yield* parser.end();
    } finally {
      closed = true;
      await reader.cancel().catch(() => undefined);
    }
  }
  return {
    events: events(),
    parser,
    close() {
      if (closed) return;
      closed = true;
      reader.cancel().catch(() => undefined);
    },
  };
}
