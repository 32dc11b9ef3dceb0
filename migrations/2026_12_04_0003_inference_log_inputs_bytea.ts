// The inference log's logged inputs as bytea (float32 little-endian, row-major: the bytes of a
// Float32Array) instead of real[]. PostgreSQL parses a binary-COPY real[] element by element (a
// 64-row request of a 19-feature model is 1,216 elements); a bytea is one copy. `outputs` stays
// real[] (SQL reads outputs[1]; they are one or two floats per row).
// Frozen in time: never import from src/ here.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // float4send gives an element's 4 bytes big-endian; each is reversed to little-endian. A NULL
  // element (never written by Sluice) becomes NaN so later elements keep their positions.
  await sql`
    CREATE FUNCTION sluice_real_array_to_f32le(a real[]) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT AS $$
      SELECT COALESCE(string_agg(substr(b, 4, 1) || substr(b, 3, 1) || substr(b, 2, 1) || substr(b, 1, 1), ''::bytea ORDER BY n), ''::bytea)
      FROM unnest(a) WITH ORDINALITY AS u(x, n)
      CROSS JOIN LATERAL (SELECT float4send(COALESCE(x, 'NaN'::real)) AS b) AS s
    $$;
    ALTER TABLE inference_log ALTER COLUMN inputs TYPE bytea USING sluice_real_array_to_f32le(inputs);
    DROP FUNCTION sluice_real_array_to_f32le(real[]);
    COMMENT ON COLUMN inference_log.inputs IS 'float32 little-endian, row-major: the request''s input tensor(s), each row''s elements of every model input in signature order (4 bytes per element; reshape by the row width from the version''s signature). NULL when inputs were not sampled.';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Back to real[], decoding each 4-byte little-endian word by its IEEE 754 fields in float8
  // (exact for every float4 value, subnormals and -0 included; NaN payloads become the plain NaN).
  // A value whose length is not a multiple of 4 becomes NULL.
  await sql`
    CREATE FUNCTION sluice_f32le_to_real_array(b bytea) RETURNS real[]
    LANGUAGE sql IMMUTABLE STRICT AS $$
      SELECT CASE WHEN length(b) % 4 <> 0 THEN NULL ELSE COALESCE((
        SELECT array_agg(CASE
            WHEN e = 255 AND m <> 0 THEN 'NaN'::real
            WHEN e = 255 THEN (CASE WHEN s = 1 THEN '-Infinity' ELSE 'Infinity' END)::real
            WHEN e = 0 THEN ((CASE WHEN s = 1 THEN -1::float8 ELSE 1::float8 END) * m::float8 * power(2::float8, -149))::real
            ELSE ((CASE WHEN s = 1 THEN -1::float8 ELSE 1::float8 END) * (m + 8388608)::float8 * power(2::float8, e - 150))::real
          END ORDER BY k)
        FROM generate_series(0, length(b) / 4 - 1) AS k
        CROSS JOIN LATERAL (SELECT get_byte(b, 4 * k) AS b0, get_byte(b, 4 * k + 1) AS b1, get_byte(b, 4 * k + 2) AS b2, get_byte(b, 4 * k + 3) AS b3) AS w
        CROSS JOIN LATERAL (SELECT b3 >> 7 AS s, ((b3 & 127) << 1) | (b2 >> 7) AS e, ((b2 & 127) << 16) | (b1 << 8) | b0 AS m) AS f
      ), '{}'::real[]) END
    $$;
    ALTER TABLE inference_log ALTER COLUMN inputs TYPE real[] USING sluice_f32le_to_real_array(inputs);
    DROP FUNCTION sluice_f32le_to_real_array(bytea);
    COMMENT ON COLUMN inference_log.inputs IS NULL;
  `.execute(db);
}
