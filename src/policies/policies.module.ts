import { Module } from '@nestjs/common';
import { IdentityModule } from '../identity/identity.module';
import { BlockEventWriter } from './block-events';
import { PoliciesController, PolicyEventsController } from './policies.controller';
import { PolicyEnforcer } from './policy-enforcer';
import { PoliciesService } from './policies.service';

/** Policy documents (storage, versions, validation, simulation), the per-node enforcement cache and block events. */
@Module({
  imports: [IdentityModule],
  controllers: [PoliciesController, PolicyEventsController],
  providers: [PoliciesService, PolicyEnforcer, BlockEventWriter],
  exports: [PolicyEnforcer, BlockEventWriter],
})
export class PoliciesModule {}
