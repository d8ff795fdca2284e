import { createHash, createHmac } from 'node:crypto';
import { verifyWebhook, WebhookInput } from './webhooks';

const input = (
  headers: WebhookInput['headers'],
  body: string,
  over: Partial<WebhookInput> = {},
): WebhookInput => ({
  headers,
  body: Buffer.from(body),
  url: 'https://hooks.example.test/in',
  nowSeconds: 1_700_000_000,
  ...over,
});

describe('webhook verification against the providers’ published vectors', () => {
  it('GitHub: the example from "Validating webhook deliveries"', () => {
    const ok = input(
      {
        'x-hub-signature-256':
          'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
      },
      'Hello, World!',
    );
    expect(verifyWebhook('github', "It's a Secret to Everybody", 300, ok)).toEqual({ ok: true });
    expect(
      verifyWebhook('github', "It's a Secret to Everybody", 300, {
        ...ok,
        body: Buffer.from('Hello, World?'),
      }),
    ).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyWebhook('github', 'wrong secret', 300, ok)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  const slackBody =
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const slackHeaders = {
    'x-slack-request-timestamp': '1531420618',
    'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
  };

  it('Slack: the example from "Verifying requests from Slack", within and outside the tolerance', () => {
    expect(
      verifyWebhook(
        'slack',
        '8f742231b10e8888abcd99yyyzzz85a5',
        300,
        input(slackHeaders, slackBody, { nowSeconds: 1531420618 + 60 }),
      ),
    ).toEqual({ ok: true });
    expect(
      verifyWebhook(
        'slack',
        '8f742231b10e8888abcd99yyyzzz85a5',
        300,
        input(slackHeaders, slackBody, { nowSeconds: 1531420618 + 301 }),
      ),
    ).toEqual({ ok: false, reason: 'stale-timestamp' });
    expect(
      verifyWebhook(
        'slack',
        '8f742231b10e8888abcd99yyyzzz85a5',
        300,
        input(slackHeaders, `${slackBody}x`, { nowSeconds: 1531420618 }),
      ),
    ).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('Twilio: the example from its webhook security docs (URL + sorted params, HMAC-SHA1)', () => {
    const params = new URLSearchParams({
      CallSid: 'CA1234567890ABCDE',
      Caller: '+14158675310',
      Digits: '1234',
      From: '+14158675310',
      To: '+18005551212',
    });
    const req = input({ 'x-twilio-signature': 'GvWf1cFY/Q7PnoempGyD5oXAezc=' }, params.toString(), {
      url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
    });
    expect(verifyWebhook('twilio', '12345', 300, req)).toEqual({ ok: true });
    params.set('Digits', '9999');
    expect(
      verifyWebhook('twilio', '12345', 300, { ...req, body: Buffer.from(params.toString()) }),
    ).toEqual({ ok: false, reason: 'bad-signature' });
    expect(
      verifyWebhook('twilio', '12345', 300, {
        ...req,
        url: 'http://mycompany.com/myapp.php?foo=1&bar=2',
      }),
    ).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('Twilio JSON bodies: the URL carries bodySHA256, which must match the body', () => {
    const body = '{"a":1}';
    const url = `https://h.test/x?bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
    const sig = createHmac('sha1', 'tok').update(url).digest('base64');
    expect(
      verifyWebhook('twilio', 'tok', 300, input({ 'x-twilio-signature': sig }, body, { url })),
    ).toEqual({ ok: true });
    expect(
      verifyWebhook('twilio', 'tok', 300, input({ 'x-twilio-signature': sig }, '{"a":2}', { url })),
    ).toEqual({ ok: false, reason: 'bad-signature' });
  });

  const sw = {
    'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    'webhook-timestamp': '1614265330',
    'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  };

  it('Standard Webhooks: the specification’s test vector, several signatures, rotation', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const at = { nowSeconds: 1614265330 };
    expect(
      verifyWebhook('standard-webhooks', secret, 300, input(sw, '{"test": 2432232314}', at)),
    ).toEqual({ ok: true });
    const rotated = {
      ...sw,
      'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')} ${sw['webhook-signature']}`,
    };
    expect(
      verifyWebhook('standard-webhooks', secret, 300, input(rotated, '{"test": 2432232314}', at)),
    ).toEqual({ ok: true });
    expect(
      verifyWebhook('standard-webhooks', secret, 300, input(sw, '{"test": 2432232315}', at)),
    ).toEqual({ ok: false, reason: 'bad-signature' });
    expect(
      verifyWebhook(
        'standard-webhooks',
        secret,
        300,
        input(sw, '{"test": 2432232314}', { nowSeconds: 1614265330 + 301 }),
      ),
    ).toEqual({ ok: false, reason: 'stale-timestamp' });
    expect(
      verifyWebhook(
        'standard-webhooks',
        secret,
        300,
        input({ ...sw, 'webhook-signature': 'v2,abc' }, '{"test": 2432232314}', at),
      ),
    ).toEqual({ ok: false, reason: 'malformed-header' });
  });

  it('Stripe: t=,v1= over "t.payload", any v1 may match (secret rotation), with tolerance', () => {
    const secret = 'whsec_test_secret';
    const t = 1_700_000_000;
    const body = '{"id":"evt_1","object":"event"}';
    const good = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    const header = `t=${t},v1=${'0'.repeat(64)},v1=${good},v0=deadbeef`;
    expect(
      verifyWebhook('stripe', secret, 300, input({ 'stripe-signature': header }, body)),
    ).toEqual({ ok: true });
    expect(
      verifyWebhook(
        'stripe',
        secret,
        300,
        input({ 'stripe-signature': header }, body, { nowSeconds: t + 301 }),
      ),
    ).toEqual({ ok: false, reason: 'stale-timestamp' });
    expect(
      verifyWebhook('stripe', 'other', 300, input({ 'stripe-signature': header }, body)),
    ).toEqual({ ok: false, reason: 'bad-signature' });
    expect(
      verifyWebhook('stripe', secret, 300, input({ 'stripe-signature': `t=${t}` }, body)),
    ).toEqual({ ok: false, reason: 'malformed-header' });
  });

  it('Shopify: base64 HMAC-SHA256 of the raw body', () => {
    const body = '{"id":1}';
    const sig = createHmac('sha256', 'shop-secret').update(body).digest('base64');
    expect(
      verifyWebhook('shopify', 'shop-secret', 300, input({ 'x-shopify-hmac-sha256': sig }, body)),
    ).toEqual({ ok: true });
    expect(
      verifyWebhook(
        'shopify',
        'shop-secret',
        300,
        input({ 'x-shopify-hmac-sha256': sig }, '{"id":2}'),
      ),
    ).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it.each([
    ['github', {}, 'missing-header'],
    [
      'github',
      { 'x-hub-signature-256': ['sha256=' + 'a'.repeat(64), 'sha256=' + 'b'.repeat(64)] },
      'duplicate-header',
    ],
    ['github', { 'x-hub-signature-256': 'sha1=abc' }, 'malformed-header'],
    ['slack', { 'x-slack-signature': 'v0=' + 'a'.repeat(64) }, 'missing-header'],
    [
      'slack',
      { 'x-slack-signature': 'v0=' + 'a'.repeat(64), 'x-slack-request-timestamp': 'yesterday' },
      'malformed-header',
    ],
    ['stripe', { 'stripe-signature': ['t=1,v1=' + 'a'.repeat(64), 't=2'] }, 'duplicate-header'],
    ['twilio', { 'x-twilio-signature': 'short' }, 'malformed-header'],
    ['shopify', { 'x-shopify-hmac-sha256': 'not base64!' }, 'malformed-header'],
    ['standard-webhooks', { 'webhook-id': 'x', 'webhook-timestamp': '1' }, 'missing-header'],
  ] as const)('%s with %j → %s', (provider, headers, reason) => {
    expect(
      verifyWebhook(provider, 'secret', 300, input(headers as WebhookInput['headers'], 'body')),
    ).toEqual({ ok: false, reason });
  });
});
