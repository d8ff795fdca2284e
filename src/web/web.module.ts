import { Module } from '@nestjs/common';
import { IdentityModule } from '../identity/identity.module';
import { OrgsModule } from '../orgs/orgs.module';
import { WebController } from './web.controller';

@Module({ imports: [IdentityModule, OrgsModule], controllers: [WebController] })
export class WebModule {}
