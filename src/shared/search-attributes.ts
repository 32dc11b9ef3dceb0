// Sluice's Temporal search attributes: registered on the dev server, set when a rollout starts
// (model, version) and kept current by the workflow (phase), so the Temporal UI filters by them.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  model: 'SluiceModel',
  version: 'SluiceVersion',
  phase: 'SluicePhase',
} as const;

export const modelSearchAttribute = defineSearchAttributeKey(SEARCH_ATTRIBUTES.model, SearchAttributeType.KEYWORD);
export const versionSearchAttribute = defineSearchAttributeKey(SEARCH_ATTRIBUTES.version, SearchAttributeType.KEYWORD);
export const phaseSearchAttribute = defineSearchAttributeKey(SEARCH_ATTRIBUTES.phase, SearchAttributeType.KEYWORD);
