import { Injectable } from '@nestjs/common';

/** SSO outcomes by reason, counted in process and exported by /metrics at scrape time. */
@Injectable()
export class SsoStats {
  readonly successes = { value: 0 };
  readonly failures = new Map<string, number>();

  success(): void {
    this.successes.value++;
  }

  failure(reason: string): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }
}
