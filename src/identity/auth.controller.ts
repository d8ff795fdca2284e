import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiGoneResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  AcceptedDto,
  LoginDto,
  MeDto,
  ResendVerificationDto,
  SignupDto,
  VerifyEmailDto,
} from './dto/auth.dto';
import { ApiAuth, CurrentPrincipal, Public } from './auth.decorators';
import { AuthService } from './auth.service';
import { MeService } from './me.service';
import type { Principal } from './principal';
import { SESSION_COOKIE, SessionService } from './session.service';

const SAME_ANSWER = 'If the address can receive mail, a message is on its way.';

@ApiTags('auth')
@Controller('v1/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionService,
    private readonly me: MeService,
  ) {}

  @Public()
  @Post('signup')
  @ApiOperation({
    summary: 'Create an account; a verification mail follows (same answer for known addresses)',
  })
  @ApiCreatedResponse({ type: AcceptedDto })
  @ApiTooManyRequestsResponse({ description: 'Too many signups for this address or IP' })
  async signup(@Body() dto: SignupDto, @Req() req: Request): Promise<AcceptedDto> {
    await this.auth.signup(dto.email, dto.password, req.ip ?? null);
    return { message: SAME_ANSWER };
  }

  @Public()
  @Post('verify-email')
  @HttpCode(200)
  @ApiOperation({ summary: 'Consume a verification token from the mail link' })
  @ApiOkResponse({ description: 'Email verified' })
  @ApiGoneResponse({ description: 'Token already used or expired' })
  async verifyEmail(@Body() dto: VerifyEmailDto): Promise<{ verified: true; email: string }> {
    const user = await this.auth.verifyEmail(dto.token);
    return { verified: true, email: user.email };
  }

  @Public()
  @Post('resend-verification')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Send a new verification mail (rate-limited; same answer for every address)',
  })
  @ApiOkResponse({ type: AcceptedDto })
  @ApiTooManyRequestsResponse({ description: 'Too many requests for this address or IP' })
  async resend(@Body() dto: ResendVerificationDto, @Req() req: Request): Promise<AcceptedDto> {
    await this.auth.resendVerification(dto.email, req.ip ?? null);
    return { message: SAME_ANSWER };
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Password login; sets the httpOnly session cookie' })
  @ApiOkResponse({ type: MeDto })
  @ApiTooManyRequestsResponse({
    description: 'Too many failures for this account or IP; see Retry-After',
  })
  async login(
    @Body() dto: LoginDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MeDto> {
    const { user, token } = await this.auth.login(dto.email, dto.password, req.ip ?? null);
    // Rotation: a session cookie that came with the login request is ended, never reused.
    const previous = (req.cookies as Record<string, string> | undefined)?.[SESSION_COOKIE];
    if (previous) {
      const old = await this.sessions.find(previous);
      if (old) await this.sessions.destroyKey(old.key);
    }
    res.cookie(SESSION_COOKIE, token, this.sessions.cookieOptions());
    return this.me.describe({ kind: 'session', user, sessionKey: '', ssoOrgId: null });
  }

  @Post('logout')
  @HttpCode(204)
  @ApiAuth()
  @ApiOperation({ summary: 'End the current session' })
  @ApiNoContentResponse()
  async logout(
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    if (principal.kind === 'session')
      await this.auth.logout(principal.user.id, principal.sessionKey);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
  }
}

@ApiTags('auth')
@Controller('v1/me')
export class MeController {
  constructor(private readonly me: MeService) {}

  @Get()
  @ApiAuth()
  @ApiOperation({ summary: 'Who am I: works with the session cookie or an API key' })
  @ApiOkResponse({ type: MeDto })
  get(@CurrentPrincipal() principal: Principal): Promise<MeDto> {
    return this.me.describe(principal);
  }
}
