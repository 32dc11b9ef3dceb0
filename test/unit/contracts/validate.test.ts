import { describe, expect, it } from 'vitest';
import {
  checkVersion, describeContract, formatSignature, parseContract, validateContract, type ModelContract, type StoredSignature,
} from '../../../src/contracts/index.js';
import { sklearnShapedClassifier, storedSignatureOf } from '../../support/exporter-shapes.js';

const skl: StoredSignature = {
  inputs: [{ name: 'float_input', datatype: 'float32', shape: [-1, 2] }],
  outputs: [{ name: 'label', datatype: 'int64', shape: [-1] }, { name: 'probabilities', datatype: 'float32', shape: [-1, 2] }],
};
const binary: ModelContract = {
  task: 'binary_classification',
  inputs: [{ name: 'float_input', elementType: 'float32', features: ['age', 'income'] }],
  score: { output: 'probabilities', column: 1, transform: 'none' },
  labelOutput: 'label', classLabels: [0, 1], positiveClass: 1, threshold: 0.5,
};
const multi: StoredSignature = {
  inputs: [{ name: 'x', datatype: 'float32', shape: [-1, 1] }],
  outputs: [{ name: 'logits', datatype: 'float32', shape: [-1, 3] }, { name: 'label', datatype: 'int64', shape: [-1] }],
};
const multiclass: ModelContract = { task: 'multiclass_classification', inputs: [{ name: 'x', elementType: 'float32' }], score: { output: 'logits', transform: 'softmax' }, classLabels: [0, 1, 2] };
const with_ = (patch: Partial<ModelContract>, base: ModelContract = binary): ModelContract => ({ ...base, ...patch });
const fields = (problems: { field: string }[]) => problems.map((p) => p.field);

describe('validateContract', () => {
  it('accepts contracts that fit', () => {
    expect(validateContract(binary, skl)).toEqual([]);
    expect(validateContract(multiclass, multi)).toEqual([]);
    expect(validateContract({ task: 'regression', inputs: [{ name: 'x', elementType: 'float32' }], score: { output: 'logits', column: 2, transform: 'none' } }, multi)).toEqual([]);
  });

  it('names an output that does not exist', () => {
    expect(validateContract(with_({ score: { output: 'proba', column: 1, transform: 'none' } }), skl)).toEqual([
      { field: '/score/output', message: "output proba is not among the model's outputs (label, probabilities)" },
    ]);
    expect(validateContract(with_({ labelOutput: 'labels' }), skl)).toEqual([
      { field: '/labelOutput', message: "output labels is not among the model's outputs (label, probabilities)" },
    ]);
  });

  it('names a column beyond the output', () => {
    expect(validateContract(with_({ score: { output: 'probabilities', column: 2, transform: 'none' } }), skl)).toEqual([
      { field: '/score/column', message: 'column 2 does not exist: output probabilities has 2 columns (0..1)' },
    ]);
  });

  it('refuses a threshold outside (0, 1)', () => {
    for (const threshold of [0, 1, -0.2, 1.5, Number.NaN]) {
      expect(fields(validateContract(with_({ threshold }), skl))).toEqual(['/threshold']);
    }
  });

  it('refuses a transform on an integer output, and an integer score', () => {
    const problems = validateContract(with_({ score: { output: 'label', transform: 'sigmoid' }, labelOutput: undefined }), skl);
    expect(problems).toContainEqual({ field: '/score/transform', message: 'transform sigmoid cannot apply to label, an int64 output' });
    expect(problems).toContainEqual({ field: '/score/output', message: 'output label is int64; a score (a probability, logit or prediction) must be float32 or float64' });
  });

  it('refuses softmax on a one-column output', () => {
    const one: StoredSignature = { inputs: skl.inputs, outputs: [{ name: 'p', datatype: 'float32', shape: [-1, 1] }] };
    expect(validateContract(with_({ score: { output: 'p', transform: 'softmax' }, labelOutput: undefined }), one)).toEqual([
      { field: '/score/transform', message: 'softmax needs at least two columns; output p has one (a binary logit takes sigmoid)' },
    ]);
  });

  it('refuses a positive class outside the class labels, or not the scored column', () => {
    expect(validateContract(with_({ positiveClass: 2 }), skl)).toEqual([
      { field: '/positiveClass', message: 'positive class 2 is not among the class labels (0, 1)' },
    ]);
    expect(validateContract(with_({ positiveClass: 0 }), skl)).toEqual([
      { field: '/positiveClass', message: 'the score is the probability of class 1 (classLabels[1]), not of positive class 0' },
    ]);
  });

  it('checks class labels: count, duplicates, and their type against the label output', () => {
    expect(fields(validateContract(with_({ classLabels: [0, 1, 2], positiveClass: undefined }), skl))).toEqual(['/classLabels']);
    expect(validateContract(with_({ classLabels: ['no', 'yes'], positiveClass: 'yes' }), skl)).toEqual([
      { field: '/classLabels', message: 'class "no" is a string, but label output label is int64' },
    ]);
    expect(validateContract(with_({ classLabels: [1, 1], positiveClass: 1 }), skl)).toContainEqual({ field: '/classLabels', message: 'class 1 is listed twice' });
    expect(validateContract(with_({ classLabels: [0, 1] }, multiclass), multi)).toEqual([
      { field: '/classLabels', message: 'output logits scores 3 classes, but 2 class labels are given' },
    ]);
  });

  it('needs the column of a two-column binary score, and refuses a wider one', () => {
    expect(fields(validateContract(with_({ score: { output: 'probabilities', transform: 'none' } }), skl))).toEqual(['/score/column']);
    expect(validateContract(with_({ task: 'binary_classification', threshold: 0.5, classLabels: undefined }, multiclass), multi)).toEqual([
      { field: '/score/output', message: 'a binary score comes from an output with 1 or 2 columns; logits has 3 (declare multiclass_classification?)' },
    ]);
  });

  it('keeps multiclass and regression contracts to their own fields', () => {
    expect(fields(validateContract(with_({ score: { output: 'logits', column: 0, transform: 'sigmoid' }, threshold: 0.5, positiveClass: 1 }, multiclass), multi)))
      .toEqual(['/score/column', '/score/transform', '/positiveClass', '/threshold']);
    const regression: ModelContract = { task: 'regression', inputs: [{ name: 'x', elementType: 'float32' }], score: { output: 'logits', transform: 'softmax' }, labelOutput: 'label', threshold: 0.5 };
    expect(fields(validateContract(regression, multi))).toEqual(['/score/transform', '/score/column', '/labelOutput', '/threshold']);
  });

  it('names inputs that are missing, of another type, undeclared, or with the wrong feature count', () => {
    const twoInputs: StoredSignature = {
      inputs: [{ name: 'numeric', datatype: 'float32', shape: [-1, 3] }, { name: 'region', datatype: 'int64', shape: [-1, 1] }],
      outputs: [{ name: 'probability', datatype: 'float32', shape: [-1, 1] }],
    };
    const contract: ModelContract = {
      task: 'binary_classification',
      inputs: [{ name: 'numeric', elementType: 'float32', features: ['a', 'b'] }, { name: 'region', elementType: 'string' }],
      score: { output: 'probability', transform: 'none' },
    };
    expect(validateContract(contract, twoInputs)).toEqual([
      { field: '/inputs/0/features', message: 'input numeric carries 3 values per row, but 2 feature names are given' },
      { field: '/inputs/1/elementType', message: 'input region is int64 in the model, not string' },
    ]);
    expect(validateContract({ ...contract, inputs: [{ name: 'numeric', elementType: 'float32' }, { name: 'zone', elementType: 'int64' }] }, twoInputs)).toEqual([
      { field: '/inputs/0/features', message: 'input numeric carries 3 values per row: name them in features, in order' },
      { field: '/inputs/1/name', message: "input zone is not among the model's inputs (numeric, region)" },
      { field: '/inputs', message: 'the model also takes input region, which the contract does not declare' },
    ]);
  });
});

describe('parseContract', () => {
  it('names schema errors by field before looking at the signature', () => {
    const result = parseContract({ ...binary, threshold: 1.2, score: { output: 'probabilities', column: 1, transform: 'tanh' } }, skl);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(fields(result.problems)).toEqual(expect.arrayContaining(['/threshold', '/score/transform']));
  });

  it('refuses unknown fields and returns a contract that fits', () => {
    expect(parseContract({ ...binary, extra: 1 }).ok).toBe(false);
    expect(parseContract(binary, skl)).toEqual({ ok: true, contract: binary });
    expect(parseContract(with_({ positiveClass: 0 }), skl)).toMatchObject({ ok: false, problems: [{ field: '/positiveClass' }] });
  });
});

describe('checkVersion', () => {
  it('passes a version with the same signature, and one with extra outputs', () => {
    expect(checkVersion(binary, skl)).toEqual({ ok: true });
    expect(checkVersion(binary, { ...skl, outputs: [...skl.outputs, { name: 'raw', datatype: 'float32', shape: [-1, 2] }] })).toEqual({ ok: true });
  });

  it('refuses a version whose input changed, naming both signatures', () => {
    const changed: StoredSignature = { ...skl, inputs: [{ name: 'float_input', datatype: 'float64', shape: [-1, 3] }] };
    const check = checkVersion(binary, changed, 'v2');
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(fields(check.problems)).toEqual(['/inputs/0/elementType', '/inputs/0/features']);
    expect(check.message).toBe("version v2 breaks the model's contract: input float_input is float64 in the model, not float32; "
      + 'input float_input carries 3 values per row, but 2 feature names are given. '
      + 'The contract expects (float_input:float32[N,2]) → (score probabilities[:,1], label label); '
      + 'version v2 has (float_input:float64[N,3]) → (label:int64[N], probabilities:float32[N,2]).');
  });

  it('refuses a version without the score output, or with too few columns, or an input missing', () => {
    const narrow: StoredSignature = { ...skl, outputs: [skl.outputs[0]!, { name: 'probabilities', datatype: 'float32', shape: [-1, 1] }] };
    const check = checkVersion(binary, narrow);
    expect(check).toMatchObject({ ok: false, problems: [{ field: '/score/column' }] });
    if (!check.ok) expect(check.message).toContain('the version has (float_input:float32[N,2]) → (label:int64[N], probabilities:float32[N,1])');
    expect(checkVersion(binary, { ...skl, outputs: [skl.outputs[0]!] })).toMatchObject({ ok: false, problems: [{ field: '/score/output' }] });
    expect(checkVersion(binary, { ...skl, inputs: [{ name: 'features', datatype: 'float32', shape: [-1, 2] }] }))
      .toMatchObject({ ok: false, problems: [{ field: '/inputs/0/name' }, { field: '/inputs' }] });
  });

  it('refuses a version with a ZipMap output, with the fix', async () => {
    const check = checkVersion(binary, await storedSignatureOf(sklearnShapedClassifier(true)), '3');
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems[0]?.field).toBe('/signature/outputs/1');
    expect(check.message).toContain("set options={'zipmap': False} in skl2onnx's convert_sklearn (or to_onnx)");
    expect(check.message).toContain('version 3 has (float_input:float32[N,2]) → (label:int64[N], output_probability:non-tensor)');
  });
});

describe('describeContract and formatSignature', () => {
  it('says the task, score, threshold, classes, label and inputs in one paragraph', () => {
    expect(describeContract(binary)).toBe('Binary classification: the score is the probability of class 1, read from column 1 of output probabilities, a probability used as it is. '
      + 'A row is predicted positive when its score is at least 0.5. The classes, in column order, are 0, 1. The predicted class is also read from output label. '
      + 'It takes one input: float_input (float32, 2 features: age, income).');
  });

  it('shortens long feature lists', () => {
    const features = Array.from({ length: 10 }, (_, i) => `f${i}`);
    expect(describeContract({ ...multiclass, inputs: [{ name: 'x', elementType: 'float64', features }] })).toContain('x (float64, 10 features: f0, f1, f2, f3, f4, f5 and 4 more)');
  });

  it('writes open dimensions as N for the batch and ? elsewhere', () => {
    expect(formatSignature({ inputs: [{ name: 't', datatype: 'int64', shape: [-1, -1] }], outputs: [{ name: 'y', datatype: 'float32', shape: [-1] }] })).toBe('(t:int64[N,?]) → (y:float32[N])');
  });
});
