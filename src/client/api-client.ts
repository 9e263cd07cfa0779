import { Readable } from 'node:stream';

/** A small client of EmboFlow's REST API, used by the CLI and the sample. */
export class ApiClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await this.ensureOk(await this.raw(method, path, body, headers), method, path);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Answers a successful response untouched (its body unread, for streams); otherwise throws the API's
   * {error:{code,message,details}} as an ApiClientError — or an http_error when the body is not that JSON.
   */
  async ensureOk(res: Response, method: string, path: string): Promise<Response> {
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    let err: { code?: string; message?: string; details?: unknown } | undefined;
    try {
      err = (JSON.parse(text) as { error?: typeof err } | undefined)?.error;
    } catch {
      // not JSON (a proxy's error page): the status alone describes it
    }
    throw new ApiClientError(
      res.status,
      err?.code ?? 'http_error',
      err?.message ?? `${method} ${path}: HTTP ${res.status}`,
      err?.details,
    );
  }

  /**
   * One request. A Uint8Array or a Readable body goes as application/octet-stream; a Readable is streamed, never
   * held (pass its Content-Length in `headers` when known); anything else is sent as JSON.
   */
  raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const isStream = body instanceof Readable;
    const isBytes = isStream || body instanceof Uint8Array;
    return fetch(new URL(path, this.baseUrl), {
      method,
      headers: {
        Authorization: `Bearer ${this.apiKey}`,
        ...(body === undefined ? {} : { 'Content-Type': isBytes ? 'application/octet-stream' : 'application/json' }),
        ...headers,
      },
      body:
        body === undefined
          ? undefined
          : isStream
            ? (Readable.toWeb(body) as ReadableStream<Uint8Array>)
            : body instanceof Uint8Array
              ? body
              : JSON.stringify(body),
      ...(isStream ? { duplex: 'half' } : {}),
    } as RequestInit);
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}, headers?: Record<string, string>): Promise<T> {
    return this.request<T>('POST', path, body, headers);
  }
}
