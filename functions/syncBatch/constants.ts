/**
 * Shapes shared by the function and the stack configuration. Dependency-free so that
 * components/config can import them without loading pg or the AWS SDK.
 */

/** A YouTube channel id: `UC` and 22 URL-safe base64 characters. */
export const CHANNEL_ID = /^UC[A-Za-z0-9_-]{22}$/;

/**
 * TLS to PostgreSQL. `verify-full`: encrypted, server certificate and host name checked
 * against the RDS CAs (the Lambda loads them through NODE_EXTRA_CA_CERTS); `require`:
 * encrypted, not verified; `disable`: plain text (local databases only).
 */
export const DB_SSL_MODES = ["verify-full", "require", "disable"] as const;
export type DbSslMode = (typeof DB_SSL_MODES)[number];
