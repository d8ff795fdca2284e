import { Module } from '@nestjs/common';
import { IdentityModule } from '../identity/identity.module';
import { PoliciesController } from './policies.controller';
import { PoliciesService } from './policies.service';

/** Policy documents: storage, versions, validation and simulation. Enforcement in the ingress comes next. */
@Module({
  imports: [IdentityModule],
  controllers: [PoliciesController],
  providers: [PoliciesService],
})
export class PoliciesModule {}
