import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Model, ModelVersion } from '../../db/schema.js';
import type { StoredArtifact } from '../../registry/artifacts.js';
import { lockModel, setModelContract } from '../../registry/models.js';
import { computeReferenceProfile } from '../../registry/profiles.js';
import { runningRolloutWithVersion } from '../../registry/rollouts.js';
import {
  findVersion, insertVersion, isArtifactReferenced, listVersions, RETIRABLE_STATUSES, setReferenceProfile, setVersionStatus,
} from '../../registry/versions.js';
import { audited, modelOf, versionOf } from '../context.js';
import { principalOf } from '../plugins/auth.js';
import { presentVersion, presentVersionDetail } from '../present.js';
import { ApiError, STREAM_BODY } from '../problem.js';
import { contractOnRegistration, type RegistrationContract } from '../services/model-contract.js';
import { checkDeclaredLength, receiveUpload, uploadBody } from '../upload.js';
import {
  Limit, ModelParams, OperatorBody, ReferenceDataBody, ReferenceProfileBody, RegisterByUriBody, RegisteredVersionOut, RegistrationPreviewOut,
  UploadQuery, VersionDetailOut, VersionOut, VersionParams, VersionStatus, withErrors,
} from '../schemas.js';

const RegisterQuery = Type.Object({
  dryRun: Type.Optional(Type.Boolean({ description: 'check the artifact and show the contract that would be stored, storing nothing' })),
}, { additionalProperties: false });

function presentRegistrationContract(found: RegistrationContract) {
  return { contract: found.contract, contractSource: found.source, contractDescription: found.description };
}

const ListQuery = Type.Object({
  status: Type.Optional(VersionStatus),
  limit: Limit(100, 500),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
}, { additionalProperties: false });

const UploadHeaders = Type.Object({
  'x-sluice-metadata': Type.Optional(Type.String({ maxLength: 8192, description: 'version metadata as a JSON object' })),
  'content-length': Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
});

const MAX_PROFILE_BYTES = 4 * 1024 * 1024;

function parseMetadataHeader(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined || raw === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ApiError(400, 'invalid_request', 'header x-sluice-metadata: is not valid JSON', 'headers/x-sluice-metadata');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'invalid_request', 'header x-sluice-metadata: must be a JSON object', 'headers/x-sluice-metadata');
  }
  return value as Record<string, unknown>;
}

function checkProfile(profile: unknown): void {
  if (profile === undefined) return;
  if (JSON.stringify(profile).length > MAX_PROFILE_BYTES) {
    throw new ApiError(413, 'too_large', `referenceProfile exceeds ${MAX_PROFILE_BYTES} bytes`, 'body/referenceProfile');
  }
}

export const versionRoutes: FastifyPluginAsync = async (app) => {
  /**
   * Loads the stored artifact with ONNX Runtime, then, in one transaction with the model's row
   * locked, checks the version against the model's contract (or infers the first one), inserts the
   * version, stores an inferred contract and writes the audit entry. A dry run stops before the
   * insert and rolls back: it shows the contract that would be stored and stores nothing.
   */
  async function register(request: FastifyRequest, model: Model, stored: StoredArtifact, input: {
    version: string; metadata?: Record<string, unknown>; trainingDataRef?: string; referenceProfile?: unknown; dryRun?: boolean;
  }) {
    try {
      const inspected = await app.inspectModel(stored.path);
      if (input.dryRun) {
        // The same read as a registration's, in a transaction that writes nothing.
        const found = await app.db.transaction().execute(async (trx) => {
          const { model: current, versionCount } = await lockModel(trx, model.id);
          return contractOnRegistration(current, versionCount, input.version, inspected);
        });
        return {
          model: model.name, version: input.version, sha256: stored.sha256, sizeBytes: stored.sizeBytes, signature: inspected.signature,
          dryRun: true, ...presentRegistrationContract(found),
        };
      }
      return await audited(app, request, { action: 'version.register', targetType: 'version', targetId: `${model.name}/${input.version}` }, async (trx) => {
        const { model: current, versionCount } = await lockModel(trx, model.id);
        const found = contractOnRegistration(current, versionCount, input.version, inspected);
        const row = await insertVersion(trx, {
          modelId: model.id, version: input.version, artifactUri: stored.uri, sha256: stored.sha256, sizeBytes: stored.sizeBytes,
          signature: inspected.signature,
          metadata: { ...(inspected.embedded ? { embedded: inspected.embedded } : {}), ...input.metadata },
          trainingDataRef: input.trainingDataRef ?? (inspected.embedded ? `sha256:${inspected.embedded.trainingDataSha256}` : null),
          referenceProfile: input.referenceProfile ?? null, createdBy: principalOf(request).actor,
        });
        if (found.store && found.contract) await setModelContract(trx, model.id, found.contract);
        const out = presentVersion(model.name, row);
        return { result: { ...out, ...presentRegistrationContract(found) }, after: { ...out, contractSource: found.source, ...(found.store ? { contract: found.contract } : {}) } };
      });
    } catch (err) {
      await discardIfUnreferenced(stored);
      throw err;
    } finally {
      // A dry run leaves nothing behind: not the version, not the artifact it uploaded.
      if (input.dryRun) await discardIfUnreferenced(stored);
    }
  }

  /** An artifact no version points at (its registration failed) is removed again. */
  async function discardIfUnreferenced(stored: StoredArtifact): Promise<void> {
    if (!(await isArtifactReferenced(app.db, stored.sha256))) await fs.rm(stored.path, { force: true });
  }

  async function assertVersionFree(model: Model, version: string): Promise<void> {
    if (await findVersion(app.db, model.id, version)) {
      throw new ApiError(409, 'conflict', `version ${version} of model ${model.name} is already registered`, 'version');
    }
  }

  app.post<{ Params: Static<typeof ModelParams>; Querystring: Static<typeof RegisterQuery>; Body: Static<typeof RegisterByUriBody> }>('/v1/models/:model/versions', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Register a version from an artifact already in the artifact store',
      description: 'The artifact is named by its file:// URI in the store (or sha256:<hex>); its content must hash to sha256, '
        + 'and ONNX Runtime must load it. The signature is read from the model. The answer shows the model\'s contract in plain words '
        + '(inferred from the first version); with dryRun, nothing is stored and the answer (200) shows the contract that would be.',
      tags: ['versions'],
      params: ModelParams,
      querystring: RegisterQuery,
      body: RegisterByUriBody,
      response: withErrors({ 200: RegistrationPreviewOut, 201: RegisteredVersionOut }, [404, 409, 413]),
    },
  }, async (request, reply) => {
    const model = await modelOf(app, request, request.params.model);
    await assertVersionFree(model, request.body.version);
    checkProfile(request.body.referenceProfile);
    const stored = await app.artifacts.resolve(request.body.artifactUri, request.body.sha256);
    const dryRun = request.query.dryRun === true;
    const out = await register(request, model, stored, { ...request.body, dryRun });
    return reply.status(dryRun ? 200 : 201).send(out);
  });

  app.post<{ Params: Static<typeof ModelParams>; Querystring: Static<typeof UploadQuery>; Headers: Static<typeof UploadHeaders> }>('/v1/models/:model/versions/upload', {
    config: { role: 'deployer', rawUpload: true },
    schema: {
      summary: 'Upload an ONNX artifact and register it as a version',
      description: 'The body is the ONNX file (application/octet-stream), streamed into the content-addressed artifact store with a size limit. '
        + 'The upload is refused when its SHA-256 differs from the sha256 query parameter or when ONNX Runtime cannot load it. '
        + 'The answer shows the model\'s contract in plain words; with dryRun, nothing is stored and the answer (200) shows the contract that would be.',
      tags: ['versions'],
      consumes: ['application/octet-stream'],
      params: ModelParams,
      querystring: UploadQuery,
      headers: UploadHeaders,
      body: Type.Unsafe<Readable>({ type: 'string', format: 'binary', [STREAM_BODY]: true }),
      response: withErrors({ 200: RegistrationPreviewOut, 201: RegisteredVersionOut }, [404, 409, 413, 415]),
    },
  }, async (request, reply) => {
    const upload = { maxBytes: app.artifacts.maxBytes, what: 'artifact', howToSend: 'send the ONNX file as the body with content-type application/octet-stream' };
    const source = uploadBody(request, upload);
    const metadata = parseMetadataHeader(request.headers['x-sluice-metadata']);
    checkDeclaredLength(request, reply, upload);
    const model = await modelOf(app, request, request.params.model);
    await assertVersionFree(model, request.query.version);
    const stored = await receiveUpload(source, reply, (body) => app.artifacts.put(body, { expectedSha256: request.query.sha256 }));
    const dryRun = request.query.dryRun === true;
    const out = await register(request, model, stored, { version: request.query.version, metadata, trainingDataRef: request.query.trainingDataRef, dryRun });
    return reply.status(dryRun ? 200 : 201).send(out);
  });

  app.get<{ Params: Static<typeof ModelParams>; Querystring: Static<typeof ListQuery> }>('/v1/models/:model/versions', {
    config: { role: 'viewer' },
    schema: {
      summary: 'List a model\'s versions, newest first',
      tags: ['versions'],
      params: ModelParams,
      querystring: ListQuery,
      response: withErrors({ 200: Type.Object({ versions: Type.Array(VersionOut) }) }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    const rows = await listVersions(app.db, model.id, request.query as { status?: ModelVersion['status']; limit: number; offset: number });
    return { versions: rows.map((v) => presentVersion(model.name, v)) };
  });

  app.get<{ Params: Static<typeof VersionParams> }>('/v1/models/:model/versions/:version', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Get a version, with its reference profile',
      tags: ['versions'],
      params: VersionParams,
      response: withErrors({ 200: VersionDetailOut }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    return presentVersionDetail(model.name, await versionOf(app.db, model, request.params.version));
  });

  /** Stores a profile on a version, audited, refusing retired versions. */
  async function storeProfile(request: FastifyRequest, model: Model, versionName: string, profile: unknown, how: string) {
    checkProfile(profile);
    return await audited(app, request, { action: 'version.reference_profile', targetType: 'version', targetId: `${model.name}/${versionName}` }, async (trx) => {
      const before = await versionOf(trx, model, versionName);
      if (before.status === 'retired') throw new ApiError(409, 'conflict', `version ${before.version} is retired`, 'version');
      const row = await setReferenceProfile(trx, before.id, profile);
      if (!row) throw new ApiError(404, 'not_found', `version ${versionName} not found`, 'version');
      return { result: presentVersion(model.name, row), before: { hadReferenceProfile: before.reference_profile !== null }, after: { hasReferenceProfile: true, how } };
    });
  }

  app.put<{ Params: Static<typeof VersionParams>; Body: Static<typeof ReferenceProfileBody> }>('/v1/models/:model/versions/:version/reference-profile', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Upload the reference profile drift is measured against',
      tags: ['versions'],
      params: VersionParams,
      body: ReferenceProfileBody,
      response: withErrors({ 200: VersionOut }, [404, 409, 413]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    return await storeProfile(request, model, request.params.version, request.body, 'uploaded');
  });

  app.post<{ Params: Static<typeof VersionParams>; Body: Static<typeof ReferenceDataBody> }>('/v1/models/:model/versions/:version/reference-profile/compute', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Compute the reference profile from reference data (and the model\'s predictions on it)',
      description: 'Columns of reference data are profiled (quantile bins, categorical frequencies; a string input\'s features as categories). When the columns hold every feature '
        + 'the model reads (named as its contract names them), the model runs over them, every input fed, and the profile gets the score\'s distribution too '
        + '(the positive class\'s probability, the regression prediction, or the top class index as a category), the number the canary and drift compare.',
      tags: ['versions'],
      params: VersionParams,
      body: ReferenceDataBody,
      response: withErrors({ 200: Type.Composite([VersionOut, Type.Object({ predicted: Type.Boolean() })]) }, [404, 409, 413]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    const version = await versionOf(app.db, model, request.params.version);
    const { profile, predicted } = await computeReferenceProfile(app.artifacts, version, request.body, model.contract);
    return { ...(await storeProfile(request, model, request.params.version, profile, predicted ? 'computed with predictions' : 'computed')), predicted };
  });

  app.post<{ Params: Static<typeof VersionParams>; Body: Static<typeof OperatorBody> }>('/v1/models/:model/versions/:version/retire', {
    config: { role: 'admin' },
    schema: {
      summary: 'Retire a version (never the production version or one in a running rollout)',
      tags: ['versions'],
      params: VersionParams,
      body: OperatorBody,
      response: withErrors({ 200: VersionOut }, [404, 409]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    return await audited(app, request, { action: 'version.retire', targetType: 'version', targetId: `${model.name}/${request.params.version}` }, async (trx) => {
      const before = await versionOf(trx, model, request.params.version);
      const inRollout = await runningRolloutWithVersion(trx, before.id);
      if (inRollout) throw new ApiError(409, 'conflict', `version ${before.version} takes part in running rollout ${inRollout.id}`, 'version');
      if (!RETIRABLE_STATUSES.includes(before.status)) {
        throw new ApiError(409, 'conflict', `version ${before.version} is ${before.status} and cannot be retired${before.status === 'production' ? ' (promote another version first)' : ''}`, 'version');
      }
      const row = await setVersionStatus(trx, before.id, 'retired', { from: RETIRABLE_STATUSES });
      if (!row) throw new ApiError(409, 'conflict', `version ${before.version} changed status meanwhile; try again`, 'version');
      return { result: presentVersion(model.name, row), before: { status: before.status }, after: { status: row.status, reason: request.body.reason ?? null } };
    });
  });
};
