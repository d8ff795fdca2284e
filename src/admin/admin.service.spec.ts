import { AppError } from '../common/app-error';
import { decodeCursor, encodeCursor } from './admin.service';

describe('admin keyset cursor', () => {
  it('round-trips', () => {
    const c = {
      createdAt: '2026-12-04T10:00:00.123456Z',
      id: '7b7b3c8e-6b4a-4c43-9a36-0e1c2f9d8a11',
    };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
  });

  it.each([
    'garbage',
    Buffer.from('[1,2]').toString('base64url'),
    Buffer.from('["x","y"]').toString('base64url'),
    Buffer.from("['; DROP TABLE users;--']").toString('base64url'),
  ])('refuses %s as a validation error', (raw) =>
    expect(() => decodeCursor(raw)).toThrow(AppError),
  );
});
