import { describe, expect, it } from 'vitest';
import { toStoredSignature } from '../../../src/api/services/inspect.js';
import { featureNamesFromMetadata, inferContract, validateContract, type ContractInference, type StoredSignature } from '../../../src/contracts/index.js';
import { fixtureManifest, fixtureModel, type FixtureKind } from '../../../src/models/fixtures.js';
import { loadModelSession } from '../../../src/models/onnx-runtime.js';
import { sklearnShapedClassifier, storedSignatureOf } from '../../support/exporter-shapes.js';

type Spec = [name: string, datatype: string, shape: number[]];
const sig = (inputs: Spec[], outputs: Spec[]): StoredSignature => ({
  inputs: inputs.map(([name, datatype, shape]) => ({ name, datatype, shape })),
  outputs: outputs.map(([name, datatype, shape]) => ({ name, datatype, shape })),
});
const X: Spec = ['input', 'float32', [-1, 3]];

function inferred(result: ContractInference) {
  if (!result.ok) throw new Error(`expected a contract, got ${result.code} at ${result.field}: ${result.message}`);
  return result;
}
function refused(result: ContractInference) {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.contract)}`);
  return result;
}

describe('inferContract on the existing credit fixtures', () => {
  it.each<FixtureKind>(['logreg', 'mlp', 'bad'])('reads the %s fixture as a binary probability with its feature names', async (kind) => {
    const loaded = await loadModelSession(fixtureModel(kind).path, { sessionOptions: { intraOpNumThreads: 1 } });
    try {
      const signature = toStoredSignature(loaded.signature);
      const { contract, explanation } = inferred(inferContract(signature, { featureNames: featureNamesFromMetadata({ embedded: loaded.metadata }) }));
      expect(contract).toEqual({
        task: 'binary_classification',
        inputs: [{ name: 'input', elementType: 'float32', features: fixtureManifest().featureNames }],
        score: { output: 'probability', transform: 'none' },
        classLabels: [0, 1], positiveClass: 1, threshold: 0.5,
      });
      expect(explanation).toContain('Binary classification: the score is the probability of class 1, read from output probability, a probability used as it is.');
      expect(explanation).toContain('19 features: age, income, debt_ratio');
      expect(validateContract(contract, signature)).toEqual([]);
    } finally {
      await loaded.session.release();
    }
  });

  it('names the columns input[i] when the model carries no Sluice metadata', () => {
    const { contract } = inferred(inferContract(sig([['input', 'float32', [-1, 3]]], [['probability', 'float32', [-1, 1]]])));
    expect(contract.inputs).toEqual([{ name: 'input', elementType: 'float32', features: ['input[0]', 'input[1]', 'input[2]'] }]);
  });
});

describe('inferContract: binary classifiers', () => {
  it('reads skl2onnx/onnxmltools label + probabilities [N,2] (as ONNX Runtime reports them) as column 1 with the label output', async () => {
    const signature = await storedSignatureOf(sklearnShapedClassifier(false));
    const { contract, explanation } = inferred(inferContract(signature));
    expect(contract).toEqual({
      task: 'binary_classification',
      inputs: [{ name: 'float_input', elementType: 'float32', features: ['float_input[0]', 'float_input[1]'] }],
      score: { output: 'probabilities', column: 1, transform: 'none' },
      labelOutput: 'label', classLabels: [0, 1], positiveClass: 1, threshold: 0.5,
    });
    expect(explanation).toContain('read from column 1 of output probabilities');
    expect(explanation).toContain('The predicted class is also read from output label.');
  });

  it('takes one float [N] output as a probability', () => {
    const { contract } = inferred(inferContract(sig([X], [['prob', 'float32', [-1]]])));
    expect(contract.score).toEqual({ output: 'prob', transform: 'none' });
    expect(contract.task).toBe('binary_classification');
  });

  it('takes a one-column logit through the sigmoid', () => {
    const { contract, explanation } = inferred(inferContract(sig([X], [['logit', 'float32', [-1, 1]]])));
    expect(contract.score).toEqual({ output: 'logit', transform: 'sigmoid' });
    expect(explanation).toContain('a logit turned into a probability by the sigmoid');
  });

  it('takes [N,2] logits through a softmax, column 1', () => {
    const { contract } = inferred(inferContract(sig([X], [['logits', 'float32', [-1, 2]]])));
    expect(contract).toMatchObject({ task: 'binary_classification', score: { output: 'logits', column: 1, transform: 'softmax' } });
  });

  it('takes a one-column output of another name as a probability, and says how to correct it', () => {
    const { contract, explanation } = inferred(inferContract(sig([X], [['dense_3', 'float64', [-1, 1]]])));
    expect(contract.score).toEqual({ output: 'dense_3', transform: 'none' });
    expect(explanation).toContain('Note: dense_3 is taken to be a probability; declare transform sigmoid if it is a logit, or task regression');
  });

  it('keeps the hinted threshold, classes and positive class', () => {
    const { contract } = inferred(inferContract(sig([X], [['label', 'string', [-1]], ['probabilities', 'float32', [-1, 2]]]),
      { classLabels: ['good', 'bad'], positiveClass: 'bad', threshold: 0.3 }));
    expect(contract).toMatchObject({ labelOutput: 'label', classLabels: ['good', 'bad'], positiveClass: 'bad', threshold: 0.3 });
  });

  it('leaves string classes unnamed without a hint, and says so', () => {
    const { contract, explanation } = inferred(inferContract(sig([X], [['label', 'string', [-1]], ['probabilities', 'float32', [-1, 2]]])));
    expect(contract.classLabels).toBeUndefined();
    expect(contract.positiveClass).toBeUndefined();
    expect(explanation).toContain('give classLabels to name them');
  });
});

describe('inferContract: multiclass and regression', () => {
  it('takes [N,C≥3] logits with a named batch axis as multiclass with softmax', () => {
    const { contract, explanation } = inferred(inferContract(sig([['features', 'float32', [-1, 4]]], [['logits', 'float32', [-1, 5]]])));
    expect(contract).toEqual({
      task: 'multiclass_classification',
      inputs: [{ name: 'features', elementType: 'float32', features: ['features[0]', 'features[1]', 'features[2]', 'features[3]'] }],
      score: { output: 'logits', transform: 'softmax' }, classLabels: [0, 1, 2, 3, 4],
    });
    expect(explanation).toContain('Multiclass classification: the score is the row of class scores in output logits, logits turned into probabilities by a softmax');
  });

  it('takes [N,C] probabilities with a label output as multiclass without a transform', () => {
    const { contract } = inferred(inferContract(sig([X], [['output_label', 'int64', [-1]], ['output_probability', 'float32', [-1, 3]]])));
    expect(contract).toMatchObject({ task: 'multiclass_classification', score: { output: 'output_probability', transform: 'none' }, labelOutput: 'output_label', classLabels: [0, 1, 2] });
    expect(contract).not.toHaveProperty('threshold');
  });

  it('reads [N,2] as a two-class multiclass model when the task says so', () => {
    const { contract } = inferred(inferContract(sig([X], [['probabilities', 'float32', [-1, 2]]]), { task: 'multiclass_classification' }));
    expect(contract).toMatchObject({ task: 'multiclass_classification', score: { output: 'probabilities', transform: 'none' }, classLabels: [0, 1] });
  });

  it.each([[[-1]], [[-1, 1]]])('takes a regressor output %j as the prediction when the task says regression', (shape) => {
    const { contract, explanation } = inferred(inferContract(sig([X], [['variable', 'float32', shape]]), { task: 'regression' }));
    expect(contract).toEqual({ task: 'regression', inputs: [{ name: 'input', elementType: 'float32', features: ['input[0]', 'input[1]', 'input[2]'] }], score: { output: 'variable', transform: 'none' } });
    expect(explanation).toContain('Regression: the prediction is output variable, used as it is.');
  });

  it('drops a label output for a regression', () => {
    const { contract } = inferred(inferContract(sig([X], [['label', 'int64', [-1]], ['prediction', 'float32', [-1]]]), { task: 'regression' }));
    expect(contract).not.toHaveProperty('labelOutput');
  });
});

describe('inferContract: several inputs', () => {
  it('declares every named input with its element type, one-column inputs named after themselves', () => {
    const signature = sig([['numeric', 'float32', [-1, 2]], ['region', 'string', [-1, 1]], ['segment', 'int64', [-1]]], [['probability', 'float32', [-1, 1]]]);
    const { contract, explanation } = inferred(inferContract(signature, { featureNames: { numeric: ['age', 'income'] } }));
    expect(contract.inputs).toEqual([
      { name: 'numeric', elementType: 'float32', features: ['age', 'income'] },
      { name: 'region', elementType: 'string', features: ['region'] },
      { name: 'segment', elementType: 'int64', features: ['segment'] },
    ]);
    expect(explanation).toContain('It takes 3 inputs: numeric (float32, 2 features: age, income); region (string, one value per row); segment (int64, one value per row).');
  });

  it('leaves the features out of an input whose width is open', () => {
    const { contract } = inferred(inferContract(sig([['tokens', 'int64', [-1, -1]]], [['probability', 'float32', [-1, 1]]])));
    expect(contract.inputs).toEqual([{ name: 'tokens', elementType: 'int64' }]);
  });
});

describe('inferContract refusals', () => {
  it('refuses a ZipMap output (as ONNX Runtime reports it) with the skl2onnx fix', async () => {
    const signature = await storedSignatureOf(sklearnShapedClassifier(true));
    const refusal = refused(inferContract(signature));
    expect(refusal.code).toBe('non_tensor_output');
    expect(refusal.field).toBe('/signature/outputs/1');
    expect(refusal.message).toContain('output output_probability is not a tensor (a sequence of maps, as a ZipMap writes)');
    expect(refusal.message).toContain("set options={'zipmap': False} in skl2onnx's convert_sklearn (or to_onnx)");
  });

  it.each([['variable', [-1, 1]], ['prediction', [-1]]])('takes a single output named like an exporter\'s regressor output (%s) as a regression prediction, with a note', (name, shape) => {
    const { contract, explanation } = inferred(inferContract(sig([X], [[name, 'float32', shape]])));
    expect(contract).toMatchObject({ task: 'regression', score: { output: name, transform: 'none' } });
    expect(explanation).toContain(`Note: ${name} is taken to be a regression prediction, as exporters name a regressor's output; declare task binary_classification if it is a probability.`);
  });

  it('refuses an output named output or value as ambiguous without a task', () => {
    const refusal = refused(inferContract(sig([X], [['output', 'float32', [-1, 1]]])));
    expect(refusal).toMatchObject({ code: 'ambiguous', field: '/task' });
    expect(refusal.message).toContain('could be a regression prediction or a binary probability');
    expect(refusal.message).toContain('task regression or binary_classification');
    expect(inferred(inferContract(sig([X], [['variable', 'float32', [-1, 1]]]), { task: 'binary_classification' })).contract.task).toBe('binary_classification');
  });

  it('refuses [N,C≥3] of an unknown kind, asking for the transform', () => {
    const refusal = refused(inferContract(sig([X], [['output', 'float32', [-1, 10]]])));
    expect(refusal).toMatchObject({ code: 'ambiguous', field: '/score/transform' });
    expect(refusal.message).toContain('could hold logits or probabilities: say which with transform softmax or none');
    expect(inferred(inferContract(sig([X], [['output', 'float32', [-1, 10]]]), { transform: 'softmax' })).contract.score.transform).toBe('softmax');
  });

  it('refuses an output with an open number of columns', () => {
    expect(refused(inferContract(sig([X], [['probabilities', 'float32', [-1, -1]]])))).toMatchObject({ code: 'ambiguous', field: '/score/output' });
  });

  it('refuses several float outputs none of which is named like a score', () => {
    const refusal = refused(inferContract(sig([X], [['a', 'float32', [-1, 1]], ['b', 'float32', [-1, 1]]])));
    expect(refusal).toMatchObject({ code: 'ambiguous', field: '/score/output' });
    expect(refusal.message).toContain('several float outputs could be the score (a, b)');
    expect(inferred(inferContract(sig([X], [['a', 'float32', [-1, 1]], ['b', 'float32', [-1, 1]]]), { scoreOutput: 'b' })).contract.score.output).toBe('b');
  });

  it('prefers the probabilities among several float outputs', () => {
    const { contract } = inferred(inferContract(sig([X], [['logits', 'float32', [-1, 3]], ['probabilities', 'float32', [-1, 3]]])));
    expect(contract.score).toEqual({ output: 'probabilities', transform: 'none' });
  });

  it('refuses a model with labels only', () => {
    const refusal = refused(inferContract(sig([X], [['label', 'int64', [-1]]])));
    expect(refusal).toMatchObject({ code: 'no_score_output', field: '/score/output' });
    expect(refusal.message).toContain('no output is float32 or float64 (label)');
  });

  it('refuses an input of an element type Sluice does not feed', () => {
    const refusal = refused(inferContract(sig([['image', 'uint8', [-1, 784]]], [['logits', 'float32', [-1, 10]]])));
    expect(refusal).toMatchObject({ code: 'unsupported_input_type', field: '/signature/inputs/0' });
    expect(refusal.message).toBe('input image is uint8; Sluice feeds inputs of float32, float64, int64, int32, bool, string');
  });

  it('refuses a task hint the score output cannot serve', () => {
    expect(refused(inferContract(sig([X], [['probability', 'float32', [-1, 1]]]), { task: 'multiclass_classification' })))
      .toMatchObject({ code: 'hint_mismatch', field: '/task' });
    expect(refused(inferContract(sig([X], [['logits', 'float32', [-1, 4]]]), { task: 'binary_classification' })).message)
      .toContain('cannot be a binary classification score: a binary score comes from 1 or 2 columns');
    expect(refused(inferContract(sig([X], [['logits', 'float32', [-1, 4]]]), { task: 'regression' }))).toMatchObject({ code: 'hint_mismatch', field: '/task' });
  });

  it('refuses hinted names that are not in the signature, and feature names of the wrong count', () => {
    expect(refused(inferContract(sig([X], [['p', 'float32', [-1, 1]]]), { scoreOutput: 'q' }))).toMatchObject({ code: 'hint_mismatch', field: '/score/output' });
    expect(refused(inferContract(sig([X], [['p', 'float32', [-1, 1]]]), { labelOutput: 'label' }))).toMatchObject({ code: 'hint_mismatch', field: '/labelOutput' });
    const refusal = refused(inferContract(sig([X], [['p', 'float32', [-1, 1]]]), { featureNames: ['a', 'b'] }));
    expect(refusal).toMatchObject({ code: 'hint_mismatch', field: '/featureNames/input' });
    expect(refusal.message).toBe('input input carries 3 values per row, but 2 feature names are given');
  });

  it('refuses hints that make an invalid contract, naming the field', () => {
    const refusal = refused(inferContract(sig([X], [['probabilities', 'float32', [-1, 2]]]), { classLabels: [0, 1], positiveClass: 2 }));
    expect(refusal).toMatchObject({ code: 'invalid_contract', field: '/positiveClass' });
    expect(refused(inferContract(sig([X], [['probabilities', 'float32', [-1, 2]]]), { threshold: 1 }))).toMatchObject({ code: 'invalid_contract', field: '/threshold' });
  });
});
