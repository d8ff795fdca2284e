import { AuditEvent } from '../audit/entities/audit-event.entity';
import { ApiKey } from '../identity/entities/api-key.entity';
import { EmailVerificationToken } from '../identity/entities/email-verification-token.entity';
import { User } from '../identity/entities/user.entity';
import { Invitation } from '../orgs/entities/invitation.entity';
import { Membership } from '../orgs/entities/membership.entity';
import { Org } from '../orgs/entities/org.entity';
import { Foundation1733340000000 } from './migrations/1733340000000-foundation';
import { ReservedNames1733350000000 } from './migrations/1733350000000-reserved-names';
import { Policies1733360000000 } from './migrations/1733360000000-policies';
import { PolicyEvents1733370000000 } from './migrations/1733370000000-policy-events';
import { ReservedName } from '../tunnels/entities/reserved-name.entity';
import { Policy, PolicyVersion } from '../policies/entities/policy.entity';
import { OrgDomain } from '../sso/entities/org-domain.entity';
import { SamlConnection } from '../sso/entities/saml-connection.entity';
import { SamlSso1733380000000 } from './migrations/1733380000000-saml-sso';

export const ENTITIES = [
  User,
  EmailVerificationToken,
  ApiKey,
  Org,
  Membership,
  Invitation,
  AuditEvent,
  ReservedName,
  Policy,
  PolicyVersion,
  SamlConnection,
  OrgDomain,
];
export const MIGRATIONS = [
  Foundation1733340000000,
  ReservedNames1733350000000,
  Policies1733360000000,
  PolicyEvents1733370000000,
  SamlSso1733380000000,
];
