import {
  API_KEY_PATTERN,
  crc32,
  generateApiKey,
  hashApiKey,
  hashesEqual,
  parseApiKey,
} from './api-key-token';

describe('API key token format', () => {
  it('generates it_ + 50 base62 chars whose checksum validates', () => {
    const { token, publicId, secretHash } = generateApiKey();
    expect(token).toMatch(API_KEY_PATTERN);
    expect(token.slice(3, 15)).toBe(publicId);
    expect(parseApiKey(token)).toEqual({ publicId, secretHash });
    expect(secretHash).toBe(hashApiKey(token));
  });

  it('detects every single-character typo through the checksum', () => {
    const { token } = generateApiKey();
    for (let i = 3; i < token.length; i++) {
      const c = token[i] === 'x' ? 'y' : 'x';
      const typo = token.slice(0, i) + c + token.slice(i + 1);
      expect(parseApiKey(typo)).toBe('checksum');
    }
  });

  it.each([
    '',
    'it_',
    'it_abc',
    `IT_${'a'.repeat(50)}`,
    `it_${'a'.repeat(49)}!`,
    `it_${'a'.repeat(51)}`,
    ` it_${'a'.repeat(50)}`,
  ])('calls %j malformed', (token) => expect(parseApiKey(token)).toBe('malformed'));

  it('does not repeat itself across 10,000 keys', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10000; i++) seen.add(generateApiKey().publicId);
    expect(seen.size).toBe(10000);
  });

  it('computes the standard CRC-32', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
  });

  it('compares hashes in constant time and refuses length mismatch', () => {
    const a = hashApiKey('a');
    expect(hashesEqual(a, a)).toBe(true);
    expect(hashesEqual(a, hashApiKey('b'))).toBe(false);
    expect(hashesEqual(a, a.slice(0, 10))).toBe(false);
  });
});
