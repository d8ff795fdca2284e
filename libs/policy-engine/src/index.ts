export { compilePolicy, globToRegExp, parseWindow, LIMITS } from './compile';
export type { CompiledPolicy, CompiledRule, CompiledAction, PolicyError } from './compile';
export { evaluate } from './evaluate';
export { parseIp, parseCidr, inCidr } from './ip';
export type * from './types';
export { verifyWebhook, WEBHOOK_PROVIDERS } from './webhooks';
export type { WebhookProvider, WebhookInput, WebhookResult, WebhookFailure } from './webhooks';
