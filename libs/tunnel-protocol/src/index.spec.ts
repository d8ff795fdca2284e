import { checkName, forwardableHeaders, friendlyName } from './index';

describe('tunnel names', () => {
  it.each(['abc', 'my-app', 'a1-b2', 'x'.repeat(63), '123'])('accepts %s', (n) =>
    expect(checkName(n)).toBeNull(),
  );
  it.each(['ab', '-ab', 'ab-', 'a--b', 'A-b', 'a_b', 'a.b', 'x'.repeat(64), 'ünï', ''])(
    'refuses %j as invalid',
    (n) => expect(checkName(n)).toBe('invalid'),
  );
  it.each(['api', 'admin', 'www'])('refuses %s as reserved', (n) =>
    expect(checkName(n)).toBe('reserved'),
  );
  it('makes valid friendly names', () => {
    for (let i = 0; i < 1000; i++) expect(checkName(friendlyName())).toBeNull();
  });
});

describe('forwardableHeaders', () => {
  it('drops hop-by-hop headers, pseudo-headers and headers named in Connection', () => {
    expect(
      forwardableHeaders({
        ':path': '/',
        host: 'x',
        connection: 'keep-alive, x-secret-hop',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        upgrade: 'websocket',
        'x-secret-hop': '1',
        'content-type': 'text/plain',
        'set-cookie': ['a=1', 'b=2'],
        te: 'trailers',
      }),
    ).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
  });
});
