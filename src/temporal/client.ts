import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';

export async function connectTemporal(config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>): Promise<Client> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS, connectTimeout: '10s' });
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}
