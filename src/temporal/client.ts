import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import { clientTracingInterceptors } from '../tracing';
import type { Tracing } from '../tracing';

/** A client; with tracing on, every workflow start, signal and update carries the caller's trace context. */
export async function connectTemporal(
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>,
  tracing?: Tracing,
): Promise<Client> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS, connectTimeout: '10s' });
  return new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    interceptors: { workflow: clientTracingInterceptors(tracing) },
  });
}
