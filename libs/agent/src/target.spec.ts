import { parseOriginTarget } from './target';

describe('parseOriginTarget', () => {
  it.each([
    ['3000', { host: '127.0.0.1', port: 3000 }],
    ['localhost:8080', { host: 'localhost', port: 8080 }],
    ['10.0.0.5:1', { host: '10.0.0.5', port: 1 }],
    ['[::1]:3000', { host: '::1', port: 3000 }],
  ])('reads %s', (raw, want) => expect(parseOriginTarget(raw)).toEqual(want));
  it.each(['', '0', '65536', 'abc', 'host:', ':80', 'http://x:80', '3000 '])('refuses %j', (raw) =>
    expect(parseOriginTarget(raw)).toBeNull(),
  );
});
