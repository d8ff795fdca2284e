import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppError } from '../common/app-error';
import type { AdminUserDto, AdminUserPageDto } from './admin.controller';

interface Cursor {
  createdAt: string;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id])).toString('base64url');
}

export function decodeCursor(raw: string): Cursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown[];
    if (
      typeof createdAt !== 'string' ||
      typeof id !== 'string' ||
      Number.isNaN(Date.parse(createdAt))
    )
      throw new Error();
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new Error();
    return { createdAt, id };
  } catch {
    throw new AppError('validation-error', 'cursor is not valid', {
      errors: [
        { field: 'cursor', messages: ['cursor must be a nextCursor value from a previous page'] },
      ],
    });
  }
}

@Injectable()
export class AdminService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async listUsers(limit: number, cursor?: string, email?: string): Promise<AdminUserPageDto> {
    const params: unknown[] = [limit + 1];
    const where: string[] = [];
    if (cursor) {
      const c = decodeCursor(cursor);
      params.push(c.createdAt, c.id);
      where.push(
        `(u.created_at, u.id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`,
      );
    }
    if (email) {
      params.push(`%${email.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
      where.push(`u.email LIKE $${params.length}`);
    }
    const rows: (AdminUserDto & { createdAtText: string })[] = await this.db.query(
      `SELECT u.id, u.email, u.email_verified_at IS NOT NULL AS "emailVerified",
              u.is_platform_admin AS "isPlatformAdmin", u.created_at AS "createdAt",
              to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdAtText",
              (SELECT count(*)::int FROM memberships m WHERE m.user_id = u.id) AS "orgCount"
         FROM users u ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY u.created_at, u.id LIMIT $1`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(({ createdAtText: _t, ...u }) => u),
      nextCursor:
        rows.length > limit && last
          ? encodeCursor({ createdAt: last.createdAtText, id: last.id })
          : null,
    };
  }
}
