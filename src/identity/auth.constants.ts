import type { OrgAccess, Principal } from './principal';

export const IS_PUBLIC = 'instatunnel:public';
export const REQUIRED_SCOPES = 'instatunnel:scopes';

export interface AuthedRequest {
  principal?: Principal;
  orgAccess?: OrgAccess;
}
