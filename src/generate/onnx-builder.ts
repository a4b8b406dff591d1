/**
 * A small writer of ONNX graphs over the onnx-proto schema: nodes get fresh
 * output names, weights and constants become initializers, and `encode`
 * gives the model's protobuf bytes, ready for onnxruntime.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX 1.12: IR version 8, opset 17 (ReduceMean still takes its axes as an attribute). */
export const IR_VERSION = 8;
export const OPSET = 17;

export type Attr = number | number[] | string;
export type ElemType = 'float32' | 'int64';

const ELEM: Record<ElemType, number> = { float32: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 };

/** A graph input or output: its name, element type and shape (a string names a dimension that varies). */
export interface ValueSpec {
  name: string;
  type: ElemType;
  shape: (number | string)[];
}

export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** Adds a node; returns its outputs' names (fresh unless given). */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs: number | string[] = 1): string[] {
    const out = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType)) : outputs;
    for (const name of out) this.claim(name);
    const attribute = Object.entries(attrs).map(([name, v]) => attribute1(name, v));
    this.nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: out, name: `${opType}_${this.nodes.length}`, attribute }));
    return out;
  }

  /** One-output op. */
  op1(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    return this.op(opType, inputs, attrs, output === undefined ? 1 : [output])[0];
  }

  /** A float32 initializer (a weight or a table), stored as raw little-endian bytes. */
  f32(name: string, data: Float32Array, dims: number[]): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new RangeError(`initializer ${name}: ${data.length} floats for dims [${dims}]`);
    this.claim(name);
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push(onnx.TensorProto.create({ name, dataType: ELEM.float32, dims, rawData }));
    return name;
  }

  /** An int64 constant (shapes, axes, split sizes); `dims` [] makes a scalar. */
  i64(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('const');
    this.claim(name);
    this.initializers.push(onnx.TensorProto.create({ name, dataType: ELEM.int64, dims, int64Data: values }));
    return name;
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    const name = this.fresh('scalar');
    this.claim(name);
    this.initializers.push(onnx.TensorProto.create({ name, dataType: ELEM.float32, dims: [], floatData: [value] }));
    return name;
  }

  encode(graphName: string, inputs: ValueSpec[], outputs: ValueSpec[]): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'tessera',
      graph: onnx.GraphProto.create({
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: inputs.map(valueInfo),
        output: outputs.map(valueInfo),
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX graph: the name ${name} is used twice`);
    this.names.add(name);
  }
}

function attribute1(name: string, v: Attr): InstanceType<typeof onnx.AttributeProto> {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
  if (Number.isInteger(v)) return onnx.AttributeProto.create({ name, type: T.INT, i: v });
  return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v });
}

function valueInfo(v: ValueSpec): InstanceType<typeof onnx.ValueInfoProto> {
  const dim = v.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return onnx.ValueInfoProto.create({ name: v.name, type: { tensorType: { elemType: ELEM[v.type], shape: { dim } } } });
}
