import type { AppContext } from '../app';
import type { ApiRegistry } from '../registry';
import { registerHealthRoutes } from './health';
import { registerPlatformRoutes } from './platform';
import { registerRunRoutes } from './runs';
import { registerTriggerRoutes } from './triggers';

/** Every resource's routes; each file registers its own through the registry. */
export function registerRoutes(api: ApiRegistry, ctx: AppContext): void {
  registerHealthRoutes(api, ctx);
  registerRunRoutes(api, ctx);
  registerTriggerRoutes(api, ctx);
  registerPlatformRoutes(api, ctx);
}
