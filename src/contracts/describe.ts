// The contract in one paragraph of plain words, shown to the user before anything is saved, so a
// wrong guess (a logit read as a probability, the wrong column) is caught by eye.
import type { ClassLabel, ContractInput, ModelContract } from './contract.js';

const MAX_NAMED_FEATURES = 6;
const show = (c: ClassLabel) => (typeof c === 'string' ? JSON.stringify(c) : String(c));

function describeInput(input: ContractInput): string {
  const features = input.features;
  if (!features) return `${input.name} (${input.elementType}, an open number of values per row)`;
  if (features.length === 1 && features[0] === input.name) return `${input.name} (${input.elementType}, one value per row)`;
  const shown = features.slice(0, MAX_NAMED_FEATURES).join(', ');
  const rest = features.length > MAX_NAMED_FEATURES ? ` and ${features.length - MAX_NAMED_FEATURES} more` : '';
  return `${input.name} (${input.elementType}, ${features.length} feature${features.length === 1 ? '' : 's'}: ${shown}${rest})`;
}

export function describeContract(contract: ModelContract): string {
  const { task, score } = contract;
  const from = `${score.column === undefined ? 'output' : `column ${score.column} of output`} ${score.output}`;
  const sentences: string[] = [];
  if (task === 'regression') {
    sentences.push(`Regression: the prediction is ${from}, used as it is.`);
  } else if (task === 'binary_classification') {
    const how = score.transform === 'sigmoid' ? ', a logit turned into a probability by the sigmoid'
      : score.transform === 'softmax' ? ', after a softmax across the output\'s columns' : ', a probability used as it is';
    const positive = contract.positiveClass === undefined ? 'the positive class' : `class ${show(contract.positiveClass)}`;
    sentences.push(`Binary classification: the score is the probability of ${positive}, read from ${from}${how}.`);
    sentences.push(`A row is predicted positive when its score is at least ${contract.threshold ?? 0.5}.`);
  } else {
    const how = score.transform === 'softmax' ? 'logits turned into probabilities by a softmax' : 'probabilities used as they are';
    sentences.push(`Multiclass classification: the score is the row of class scores in output ${score.output}, ${how}; the prediction is the top class.`);
  }
  if (contract.classLabels) sentences.push(`The classes, in column order, are ${contract.classLabels.map(show).join(', ')}.`);
  if (contract.labelOutput) sentences.push(`The predicted class is also read from output ${contract.labelOutput}.`);
  const inputs = contract.inputs.map(describeInput);
  sentences.push(`It takes ${inputs.length === 1 ? 'one input' : `${inputs.length} inputs`}: ${inputs.join('; ')}.`);
  return sentences.join(' ');
}
