/**
 * Reads an ONNX file's header fields — IR version, opsets, producer, metadata_props — straight
 * from the protobuf wire format, stepping over the graph without decoding it. ONNX Runtime for
 * Node does not expose metadata_props, and fully decoding a large model's graph just to read a
 * few strings would copy every weight.
 */

export interface OnnxModelInfo {
  readonly irVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly domain: string;
  readonly modelVersion: number;
  readonly docString: string;
  /** Operator set versions by domain ('' is the default ONNX domain). */
  readonly opsets: Readonly<Record<string, number>>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly hasGraph: boolean;
}

/** Thrown for bytes that are not a well-formed ModelProto; the message says where it broke. */
export class OnnxFormatError extends Error {
  override readonly name = 'OnnxFormatError';
}

// Field numbers from onnx.proto (ModelProto, OperatorSetIdProto, StringStringEntryProto).
const MODEL_IR_VERSION = 1;
const MODEL_PRODUCER_NAME = 2;
const MODEL_PRODUCER_VERSION = 3;
const MODEL_DOMAIN = 4;
const MODEL_MODEL_VERSION = 5;
const MODEL_DOC_STRING = 6;
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const MODEL_METADATA_PROPS = 14;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readOnnxModelInfo(bytes: Uint8Array): OnnxModelInfo {
  if (bytes.length === 0) throw new OnnxFormatError('the file is empty');
  let irVersion = 0;
  let producerName = '';
  let producerVersion = '';
  let domain = '';
  let modelVersion = 0;
  let docString = '';
  let hasGraph = false;
  const opsets: Record<string, number> = {};
  const metadata: Record<string, string> = {};

  forEachField(bytes, 0, bytes.length, 'ModelProto', (field, reader) => {
    switch (field) {
      case MODEL_IR_VERSION: irVersion = reader.varint(); break;
      case MODEL_PRODUCER_NAME: producerName = reader.string(); break;
      case MODEL_PRODUCER_VERSION: producerVersion = reader.string(); break;
      case MODEL_DOMAIN: domain = reader.string(); break;
      case MODEL_MODEL_VERSION: modelVersion = reader.varint(); break;
      case MODEL_DOC_STRING: docString = reader.string(); break;
      case MODEL_GRAPH: hasGraph = true; reader.skip(); break;
      case MODEL_OPSET_IMPORT: {
        const [start, end] = reader.message();
        let opsetDomain = '';
        let version = 0;
        forEachField(bytes, start, end, 'OperatorSetIdProto', (f, r) => {
          if (f === 1) opsetDomain = r.string();
          else if (f === 2) version = r.varint();
          else r.skip();
        });
        opsets[opsetDomain] = version;
        break;
      }
      case MODEL_METADATA_PROPS: {
        const [start, end] = reader.message();
        let key = '';
        let value = '';
        forEachField(bytes, start, end, 'StringStringEntryProto', (f, r) => {
          if (f === 1) key = r.string();
          else if (f === 2) value = r.string();
          else r.skip();
        });
        metadata[key] = value;
        break;
      }
      default: reader.skip();
    }
  });
  if (irVersion === 0) throw new OnnxFormatError('no ir_version: this is not an ONNX model');
  return { irVersion, producerName, producerVersion, domain, modelVersion, docString, opsets, metadata, hasGraph };
}

interface FieldReader {
  varint(): number;
  string(): string;
  /** The [start, end) byte range of an embedded message. */
  message(): [number, number];
  skip(): void;
}

function forEachField(bytes: Uint8Array, start: number, end: number, messageName: string, visit: (field: number, reader: FieldReader) => void): void {
  let position = start;
  let wireType = 0;
  const fail = (what: string): never => {
    throw new OnnxFormatError(`malformed ${messageName} at byte ${position}: ${what}`);
  };
  const varint = (): number => {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (position >= end) fail('truncated varint');
      const byte = bytes[position++] as number;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
    }
    return fail('varint longer than 10 bytes');
  };
  const lengthDelimited = (): [number, number] => {
    if (wireType !== WIRE_LENGTH_DELIMITED) fail(`expected a length-delimited field, found wire type ${wireType}`);
    const length = varint();
    if (position + length > end) fail(`field of ${length} bytes runs past the end`);
    const range: [number, number] = [position, position + length];
    position += length;
    return range;
  };
  const reader: FieldReader = {
    varint: () => (wireType === WIRE_VARINT ? varint() : fail(`expected a varint field, found wire type ${wireType}`)),
    string: () => {
      const [s, e] = lengthDelimited();
      try {
        return utf8.decode(bytes.subarray(s, e));
      } catch {
        return fail('string field is not UTF-8');
      }
    },
    message: lengthDelimited,
    skip: () => {
      switch (wireType) {
        case WIRE_VARINT: varint(); break;
        case WIRE_FIXED64: position += 8; break;
        case WIRE_LENGTH_DELIMITED: lengthDelimited(); break;
        case WIRE_FIXED32: position += 4; break;
        default: fail(`unsupported wire type ${wireType}`);
      }
      if (position > end) fail('field runs past the end');
    },
  };
  while (position < end) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    wireType = tag & 7;
    if (field === 0) fail('field number 0');
    visit(field, reader);
  }
}
