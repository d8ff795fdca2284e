import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AppError } from '../common/app-error';
import { isUniqueViolation } from '../common/db-errors';
import { AppConfig } from '../config/app-config';
import { orgScopeOf, type OrgAccess, type Principal } from '../identity/principal';
import { hashToken, newOneTimeToken } from '../identity/tokens';
import { mailTemplates } from '../mail/mail-templates';
import { MailService } from '../mail/mail.service';
import type { CreateInvitationDto, InvitationDto } from './dto/org.dto';
import { Invitation } from './entities/invitation.entity';
import { Membership } from './entities/membership.entity';
import { Org } from './entities/org.entity';

function toDto(i: Invitation): InvitationDto {
  return {
    id: i.id,
    orgId: i.orgId,
    email: i.email,
    role: i.role,
    expiresAt: i.expiresAt,
    createdAt: i.createdAt,
  };
}

@Injectable()
export class InvitationsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly mail: MailService,
  ) {}

  async invite(
    access: OrgAccess,
    principal: Principal,
    dto: CreateInvitationDto,
  ): Promise<InvitationDto> {
    if (dto.role === 'owner' && access.role !== 'owner') {
      throw new AppError('forbidden', 'Only owners can invite owners');
    }
    const { token, hash } = newOneTimeToken();
    const { invitation, org } = await this.db.transaction(async (em) => {
      const member: unknown[] = await em.query(
        `SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND u.email = $2`,
        [access.orgId, dto.email],
      );
      if (member.length > 0)
        throw new AppError('already-member', `${dto.email} is already a member`);
      // A new invitation replaces any pending one for the same address.
      await em.update(
        Invitation,
        { orgId: access.orgId, email: dto.email, acceptedAt: IsNull(), revokedAt: IsNull() },
        { revokedAt: new Date() },
      );
      const saved = await em.save(
        em.create(Invitation, {
          orgId: access.orgId,
          email: dto.email,
          role: dto.role,
          tokenHash: hash,
          invitedByUserId: principal.user.id,
          expiresAt: new Date(Date.now() + this.config.INVITATION_TTL_SECONDS * 1000),
          acceptedAt: null,
          acceptedByUserId: null,
          revokedAt: null,
        }),
      );
      await this.audit.record(em, {
        orgId: access.orgId,
        action: 'member.invited',
        targetType: 'invitation',
        targetId: saved.id,
        metadata: { email: dto.email, role: dto.role },
      });
      return { invitation: saved, org: await em.findOneByOrFail(Org, { id: access.orgId }) };
    });
    const url = new URL('/invitations/accept', this.config.PUBLIC_URL);
    url.searchParams.set('token', token);
    await this.mail.enqueue(
      mailTemplates.invitation(
        dto.email,
        org.name,
        dto.role,
        url.toString(),
        Math.round(this.config.INVITATION_TTL_SECONDS / 3600),
      ),
    );
    return toDto(invitation);
  }

  async listPending(orgId: string): Promise<InvitationDto[]> {
    const rows = await this.db.getRepository(Invitation).find({
      where: { orgId, acceptedAt: IsNull(), revokedAt: IsNull() },
      order: { createdAt: 'DESC' },
    });
    return rows.filter((i) => i.expiresAt.getTime() > Date.now()).map(toDto);
  }

  async revoke(access: OrgAccess, id: string): Promise<void> {
    await this.db.transaction(async (em) => {
      const inv = await em.findOneBy(Invitation, { id, orgId: access.orgId });
      if (!inv) throw new AppError('not-found', 'No such invitation');
      if (inv.acceptedAt || inv.revokedAt) return;
      await em.update(Invitation, { id }, { revokedAt: new Date() });
      await this.audit.record(em, {
        orgId: access.orgId,
        action: 'invitation.revoked',
        targetType: 'invitation',
        targetId: id,
        metadata: { email: inv.email, role: inv.role },
      });
    });
  }

  /** Only the invited address may accept, and only once it is verified: that proves the mailbox. */
  async accept(principal: Principal, token: string): Promise<{ orgId: string; role: string }> {
    if (orgScopeOf(principal) !== null) {
      throw new AppError(
        'forbidden',
        'This credential is confined to one org; accept invitations with a password session',
      );
    }
    try {
      return await this.db.transaction(async (em) => {
        const inv = await em
          .createQueryBuilder(Invitation, 'i')
          .setLock('pessimistic_write')
          .where('i.tokenHash = :hash', { hash: hashToken(token) })
          .getOne();
        if (!inv) throw new AppError('token-invalid', 'This invitation link is not valid');
        if (inv.acceptedAt)
          throw new AppError('token-used', 'This invitation was already accepted');
        if (inv.revokedAt) throw new AppError('token-expired', 'This invitation was withdrawn');
        if (inv.expiresAt.getTime() <= Date.now())
          throw new AppError('token-expired', 'This invitation has expired');
        if (inv.email !== principal.user.email) {
          throw new AppError(
            'forbidden',
            'This invitation was sent to another address; log in as that user',
          );
        }
        await em.insert(Membership, {
          orgId: inv.orgId,
          userId: principal.user.id,
          role: inv.role,
        });
        await em.update(
          Invitation,
          { id: inv.id },
          { acceptedAt: new Date(), acceptedByUserId: principal.user.id },
        );
        await this.audit.record(em, {
          orgId: inv.orgId,
          action: 'member.added',
          targetType: 'user',
          targetId: principal.user.id,
          metadata: { role: inv.role, invitationId: inv.id, via: 'invitation' },
        });
        return { orgId: inv.orgId, role: inv.role };
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new AppError('already-member', 'You are already a member of this org');
      throw err;
    }
  }
}
