/** The raw-Temporal floor's only activity: it does nothing, so what is measured is Temporal itself. */
export function createBaselineActivities() {
  return {
    async noop(_node: string): Promise<void> {},
  };
}

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
