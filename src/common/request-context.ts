import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from '../identity/principal';

export interface RequestContext {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
  principal?: Principal;
}

const storage = new AsyncLocalStorage<RequestContext>();

export const requestContext = {
  run<T>(ctx: RequestContext, fn: () => T): T {
    return storage.run(ctx, fn);
  },
  get(): RequestContext | undefined {
    return storage.getStore();
  },
};
