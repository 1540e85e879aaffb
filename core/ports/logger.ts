// The structured logger the domain writes to; pino (gateway/logger.ts) implements it and keeps secrets out.
export interface Logger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}
