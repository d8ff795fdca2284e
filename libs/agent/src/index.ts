export { TunnelAgent, AGENT_VERSION } from './agent';
export type { AgentOptions, Refusal } from './agent';
export type { RequestLog, OriginTarget } from './local-origin';
