/**
 * A one-node ONNX model, Y[M,N] = MatMul(A[M,K], B[K,N]), encoded by hand.
 * A protobuf writer for five message types is smaller than a dependency on a
 * graph builder, and it keeps B a graph input (not an initializer) so ORT
 * cannot pre-pack or constant-fold the weight and time something else.
 *
 * Field numbers are from onnx/onnx.proto3.
 */

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const ELEM_FLOAT = 1; // TensorProto.DataType.FLOAT
/** IR 8 / opset 13: old enough for any ORT build, new enough for MatMul-13. */
const IR_VERSION = 8;
const OPSET = 13;

type Field = Uint8Array;

function varint(value: number): number[] {
  // Every value here is a small non-negative integer (sizes, enums, versions).
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function key(field: number, wire: number): number[] {
  return varint(field * 8 + wire);
}

function intField(field: number, value: number): Field {
  return Uint8Array.from([...key(field, WIRE_VARINT), ...varint(value)]);
}

function bytesField(field: number, payload: Uint8Array): Field {
  const head = [...key(field, WIRE_BYTES), ...varint(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

function stringField(field: number, s: string): Field {
  return bytesField(field, new TextEncoder().encode(s));
}

function message(...fields: Field[]): Uint8Array {
  const out = new Uint8Array(fields.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of fields) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** ValueInfoProto{name, type: TypeProto{tensor_type{elem_type FLOAT, shape}}} */
function tensorValueInfo(name: string, dims: number[]): Uint8Array {
  const shape = message(...dims.map((d) => bytesField(1, message(intField(1, d)))));
  const tensorType = message(intField(1, ELEM_FLOAT), bytesField(2, shape));
  return message(stringField(1, name), bytesField(2, message(bytesField(1, tensorType))));
}

/** NodeProto{input: A, B; output: Y; name; op_type: MatMul} */
function matmulNode(): Uint8Array {
  return message(stringField(1, 'A'), stringField(1, 'B'), stringField(2, 'Y'), stringField(3, 'matmul'), stringField(4, 'MatMul'));
}

/** The serialized ModelProto for Y[M,N] = A[M,K] · B[K,N] in float32. */
export function matmulModel(M: number, N: number, K: number): Uint8Array {
  const graph = message(
    bytesField(1, matmulNode()),
    stringField(2, 'tessera_bench_matmul'),
    bytesField(11, tensorValueInfo('A', [M, K])),
    bytesField(11, tensorValueInfo('B', [K, N])),
    bytesField(12, tensorValueInfo('Y', [M, N])),
  );
  const opset = message(stringField(1, ''), intField(2, OPSET));
  return message(intField(1, IR_VERSION), stringField(2, 'tessera-bench'), bytesField(7, graph), bytesField(8, opset));
}
