import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Membership } from '../orgs/entities/membership.entity';
import { AccessService } from './access.service';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { AuthController, MeController } from './auth.controller';
import { AuthService } from './auth.service';
import { ApiKey } from './entities/api-key.entity';
import { EmailVerificationToken } from './entities/email-verification-token.entity';
import { User } from './entities/user.entity';
import { AdminGuard, AuthGuard, OrgMemberGuard, ScopesGuard, VerifiedEmailGuard } from './guards';
import { MeService } from './me.service';
import { PasswordHasher } from './password-hasher';
import { SessionService } from './session.service';
import { UsersService } from './users.service';

@Module({
  imports: [TypeOrmModule.forFeature([User, EmailVerificationToken, ApiKey, Membership])],
  controllers: [AuthController, MeController, ApiKeysController],
  providers: [
    UsersService,
    AuthService,
    MeService,
    SessionService,
    PasswordHasher,
    ApiKeysService,
    AccessService,
    OrgMemberGuard,
    ScopesGuard,
    VerifiedEmailGuard,
    AdminGuard,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [
    AuthService,
    UsersService,
    SessionService,
    PasswordHasher,
    ApiKeysService,
    AccessService,
    OrgMemberGuard,
    ScopesGuard,
    VerifiedEmailGuard,
    AdminGuard,
  ],
})
export class IdentityModule {}
