import { signHop, verifyHop } from './node-hop';

const SECRET = 's'.repeat(40);

describe('node-to-node hop signature', () => {
  it('verifies what it signed', () => {
    expect(
      verifyHop(
        SECRET,
        signHop(SECRET, 'GET', 'a.example', '/x?y=1'),
        'GET',
        'a.example',
        '/x?y=1',
      ),
    ).toBe(true);
  });

  it.each([
    ['another secret', 'x'.repeat(40), 'GET', 'a.example', '/x?y=1'],
    ['another method', SECRET, 'POST', 'a.example', '/x?y=1'],
    ['another host', SECRET, 'GET', 'b.example', '/x?y=1'],
    ['another path', SECRET, 'GET', 'a.example', '/x?y=2'],
  ])('refuses %s', (_n, secret, method, host, path) => {
    expect(
      verifyHop(secret, signHop(SECRET, 'GET', 'a.example', '/x?y=1'), method, host, path),
    ).toBe(false);
  });

  it('refuses old, future and malformed values', () => {
    const now = Date.now();
    expect(
      verifyHop(SECRET, signHop(SECRET, 'GET', 'h', '/', now - 31_000), 'GET', 'h', '/', now),
    ).toBe(false);
    expect(
      verifyHop(SECRET, signHop(SECRET, 'GET', 'h', '/', now + 31_000), 'GET', 'h', '/', now),
    ).toBe(false);
    for (const bad of ['', '.', 'abc', `${now}.`, `${now}.!!!`, `x.${'a'.repeat(43)}`])
      expect(verifyHop(SECRET, bad, 'GET', 'h', '/', now)).toBe(false);
  });
});
