/**
 * Float32 tensors as bytes: the inference log stores logged inputs as float32 little-endian,
 * row-major (the bytes of a Float32Array on x86-64 and arm64), and readers turn them back.
 */

/** Whether this host stores numbers little-endian (every platform Sluice runs on does). */
export const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * Float32 little-endian bytes as a Float32Array of their own (a Buffer may sit at any offset of
 * a shared pool, so it is copied, never viewed); null when the length is not whole floats.
 */
export function float32sFromBytes(bytes: Uint8Array): Float32Array | null {
  if (bytes.length % 4 !== 0) return null;
  const values = new Float32Array(bytes.length / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(values.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
  }
  return values;
}
