// Database rows → API shapes (camelCase, ISO timestamps). Nothing here reads or writes.
import { describeContract } from '../contracts/describe.js';
import type { Dataset, Model, ModelVersion } from '../db/schema.js';
import type { ApiKeyRecord } from '../registry/keys.js';
import { modelTask, type ModelSummary } from '../registry/models.js';
import type { RolloutView } from '../registry/rollouts.js';
import { generationToRow, type GenerationRecord } from '../registry/traffic.js';

const iso = (d: Date | string | null | undefined): string | null =>
  d === null || d === undefined ? null : d instanceof Date ? d.toISOString() : new Date(d).toISOString();

export function presentModel(m: ModelSummary) {
  return {
    name: m.name,
    project: m.project_id,
    description: m.description,
    task: modelTask(m),
    contract: m.contract ?? null,
    contractDescription: m.contract ? describeContract(m.contract) : null,
    productionVersion: m.production_version,
    versionCount: m.version_count,
    runningRolloutId: m.running_rollout_id,
    createdAt: iso(m.created_at) as string,
  };
}

export function presentVersion(model: string, v: ModelVersion) {
  return {
    model,
    version: v.version,
    status: v.status,
    artifactUri: v.artifact_uri,
    sha256: v.sha256,
    sizeBytes: Number(v.size_bytes),
    signature: v.signature,
    metadata: v.metadata ?? {},
    trainingDataRef: v.training_data_ref,
    hasReferenceProfile: v.reference_profile !== null && v.reference_profile !== undefined,
    metrics: v.metrics ?? {},
    createdBy: v.created_by,
    createdAt: iso(v.created_at) as string,
  };
}

export function presentDataset(model: Model, d: Dataset) {
  return {
    id: d.id, model: model.name, name: d.name, format: d.format, sha256: d.sha256, sizeBytes: Number(d.size_bytes), rows: d.rows,
    columns: d.columns, label: d.label_column, segment: d.segment_column, golden: model.golden_dataset_id === d.id,
    artifactUri: d.artifact_uri, createdBy: d.created_by, createdAt: iso(d.created_at) as string,
  };
}

export function presentVersionDetail(model: string, v: ModelVersion) {
  return { ...presentVersion(model, v), referenceProfile: v.reference_profile ?? null };
}

export function temporalUiUrl(base: string | null, namespace: string, workflowId: string, runId?: string | null): string | null {
  if (!base) return null;
  const root = base.replace(/\/+$/, '');
  const wf = `${root}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${wf}/${encodeURIComponent(runId)}/history` : wf;
}

export function presentRollout(r: RolloutView, ui: { base: string | null; namespace: string }) {
  return {
    id: r.id,
    workflowId: r.workflow_id,
    model: r.model,
    candidateVersion: r.candidate_version,
    baselineVersion: r.baseline_version,
    status: r.status,
    phase: r.phase,
    outcomeReason: r.outcome_reason,
    policy: r.policy,
    startedBy: r.started_by,
    startedAt: iso(r.started_at) as string,
    endedAt: iso(r.ended_at),
    temporalUiUrl: temporalUiUrl(ui.base, ui.namespace, r.workflow_id),
  };
}

export function presentGeneration(g: GenerationRecord) {
  const { generation, weights, spec } = generationToRow(g.traffic);
  return {
    model: g.model,
    generation,
    weights,
    spec,
    reason: g.reason,
    createdBy: g.createdBy,
    createdAt: iso(g.createdAt) as string,
  };
}

export function presentKey(k: ApiKeyRecord) {
  return {
    id: k.id,
    project: k.project_id,
    name: k.name,
    role: k.role,
    createdAt: iso(k.created_at) as string,
    disabledAt: iso(k.disabled_at),
    lastUsedAt: iso(k.last_used_at),
  };
}

export function presentStep(s: { seq: number; phase: string; step: string; verdict: string; reason: string; numbers: Record<string, unknown>; at: Date }) {
  return { seq: s.seq, phase: s.phase, step: s.step, verdict: s.verdict, reason: s.reason, numbers: s.numbers ?? {}, at: iso(s.at) as string };
}

export function presentLook(l: { look: number; decision: string; arm_stats: unknown; result: unknown; at: Date }) {
  return { look: l.look, decision: l.decision, armStats: l.arm_stats, result: l.result, at: iso(l.at) as string };
}

export function presentExperiment(e: {
  id: string; kind: string; salt: string; arms: unknown; primary_metric: string; config: Record<string, unknown>;
  status: string; decision: unknown; started_at: Date; ended_at: Date | null;
}) {
  return {
    id: e.id, kind: e.kind, salt: e.salt, arms: e.arms, primaryMetric: e.primary_metric, config: e.config ?? {},
    status: e.status, decision: e.decision ?? null, startedAt: iso(e.started_at) as string, endedAt: iso(e.ended_at),
  };
}

export function presentAudit(a: {
  id: string; at: Date; project_id: string | null; actor: string; action: string; target_type: string; target_id: string;
  before: unknown; after: unknown; request_id: string | null;
}) {
  return {
    id: a.id, at: iso(a.at) as string, project: a.project_id, actor: a.actor, action: a.action,
    targetType: a.target_type, targetId: a.target_id, before: a.before ?? null, after: a.after ?? null, requestId: a.request_id,
  };
}
