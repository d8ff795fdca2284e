import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, MaxLength } from 'class-validator';

export class ReserveNameDto {
  @ApiProperty({
    example: 'my-app',
    description: 'One DNS label: 3-63 chars of a-z, 0-9 and inner hyphens',
  })
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  )
  @IsString()
  @MaxLength(63)
  name!: string;
}

export class ReservedNameDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'Public URL of the name' }) url!: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
}

export class LiveTunnelDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty() url!: string;
  @ApiProperty({ format: 'uuid' }) apiKeyId!: string;
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ type: String, nullable: true }) agentIp!: string | null;
  @ApiProperty({ type: String, nullable: true }) agentVersion!: string | null;
  @ApiProperty({ description: 'Server node holding the agent connection' }) node!: string;
  @ApiProperty() ephemeral!: boolean;
  @ApiProperty({ type: String, format: 'date-time' }) since!: string;
  @ApiProperty({ description: 'Requests served (refreshed every heartbeat)' }) requests!: number;
  @ApiProperty() bytesIn!: number;
  @ApiProperty() bytesOut!: number;
}
