/** Samples this process's resident set size; the peak is per window (reset between scenarios). */
export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 50) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }

  take(reset = false): { rssBytes: number; peakRssBytes: number } {
    this.sample();
    const out = { rssBytes: process.memoryUsage.rss(), peakRssBytes: this.peak };
    if (reset) this.peak = process.memoryUsage.rss();
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
