import { Connection, Client } from '@temporalio/client';
(async () => {
  const c = new Client({ connection: await Connection.connect({ address: '127.0.0.1:7233' }) });
  const h = c.workflow.getHandle(process.argv[2]!);
  const hist = await h.fetchHistory();
  const evs = (hist.events ?? []).filter((e) => ![5, 6, 7].includes(e.eventType as number));
  for (const e of evs.slice(-12)) console.log(e.eventId?.toString(), e.eventType, JSON.stringify(e.markerRecordedEventAttributes ?? e.activityTaskScheduledEventAttributes?.activityType ?? e.workflowTaskFailedEventAttributes ?? '').slice(0, 600));
  await c.connection.close();
})();
