import { Module } from '@nestjs/common';
import { IdentityModule } from '../identity/identity.module';
import { InvitationsController, OrgsController } from './orgs.controller';
import { InvitationsService } from './invitations.service';
import { OrgsService } from './orgs.service';

@Module({
  imports: [IdentityModule],
  controllers: [OrgsController, InvitationsController],
  providers: [OrgsService, InvitationsService],
  exports: [InvitationsService],
})
export class OrgsModule {}
