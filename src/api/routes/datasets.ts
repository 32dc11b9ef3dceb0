// Evaluation datasets of a model: uploaded (CSV or JSON lines, streamed into the artifact store),
// checked against the model's contract, listed, and attached as the model's golden set. A refused
// upload leaves nothing behind: no row, and no file no other dataset keeps.
import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ModelContract } from '../../contracts/index.js';
import { parseDataset } from '../../datasets/index.js';
import type { Dataset, DatasetFormat, Model } from '../../db/schema.js';
import type { StoredArtifact } from '../../registry/artifacts.js';
import {
  createDataset, findDataset, findDatasetBySha256, isDatasetArtifactReferenced, listDatasets, setGoldenDataset,
} from '../../registry/datasets.js';
import { audited, modelOf } from '../context.js';
import { principalOf } from '../plugins/auth.js';
import { presentDataset } from '../present.js';
import { ApiError, STREAM_BODY } from '../problem.js';
import {
  DatasetOut, DatasetParams, DatasetUploadQuery, GoldenDatasetBody, GoldenDatasetOut, Limit, ModelParams, withErrors,
} from '../schemas.js';
import { checkDeclaredLength, receiveUpload, uploadBody } from '../upload.js';

/** The content types a dataset upload is sent with, and the format each one means. */
const FORMAT_OF_TYPE: Record<string, DatasetFormat> = {
  'text/csv': 'csv', 'application/x-ndjson': 'jsonl', 'application/jsonl': 'jsonl', 'application/x-jsonlines': 'jsonl',
};
export const DATASET_CONTENT_TYPES = Object.keys(FORMAT_OF_TYPE);

const ListQuery = Type.Object({ limit: Limit(100, 500), offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }) }, { additionalProperties: false });

/** The format the query names, else the one the content type means; both must agree. */
function formatOf(query: Static<typeof DatasetUploadQuery>, contentType: string | undefined): DatasetFormat {
  const fromType = FORMAT_OF_TYPE[(contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''];
  const fromQuery = query.format === 'ndjson' ? 'jsonl' : query.format;
  if (fromQuery && fromType && fromQuery !== fromType) {
    throw new ApiError(400, 'invalid_request', `query/format: is ${fromQuery}, but the content type says ${fromType}`, 'query/format');
  }
  const format = fromQuery ?? fromType;
  if (!format) throw new ApiError(400, 'invalid_request', 'query/format: say csv or jsonl (or send text/csv or application/x-ndjson)', 'query/format');
  return format;
}

/** The upload's options must match the dataset those bytes already are. */
function checkSameReading(existing: Dataset, query: Static<typeof DatasetUploadQuery>, format: DatasetFormat): void {
  if (format !== existing.format) {
    throw new ApiError(409, 'conflict', `query/format: these bytes are dataset ${existing.id} already, read as ${existing.format}`, 'query/format');
  }
  if (query.label !== undefined && query.label !== existing.label_column) {
    throw new ApiError(409, 'conflict', `query/label: these bytes are dataset ${existing.id} already, read with label column ${existing.label_column}`, 'query/label');
  }
  if (query.segment !== undefined && query.segment !== existing.segment_column) {
    throw new ApiError(409, 'conflict', `query/segment: these bytes are dataset ${existing.id} already, read with segment column ${existing.segment_column ?? '(none)'}`, 'query/segment');
  }
}

export const datasetRoutes: FastifyPluginAsync = async (app) => {
  /** A file no dataset keeps (its upload was refused) is removed again. */
  async function discardIfUnreferenced(stored: StoredArtifact, format: DatasetFormat): Promise<void> {
    if (!(await isDatasetArtifactReferenced(app.db, stored.sha256, format))) await fs.rm(stored.path, { force: true });
  }

  /** Reads the stored file against the contract and records it (audited); discards the file when that fails. */
  async function recordDataset(request: FastifyRequest<{ Querystring: Static<typeof DatasetUploadQuery> }>, m: Model, contract: ModelContract,
    file: StoredArtifact, fmt: DatasetFormat): Promise<{ dataset: Dataset; created: boolean }> {
    const { query } = request;
    try {
      const parsed = await parseDataset(app.artifacts.stream(file.uri), {
        format: fmt, contract, ...(query.label !== undefined ? { label: query.label } : {}), ...(query.segment !== undefined ? { segment: query.segment } : {}),
      });
      if (!parsed.ok) {
        const field = parsed.field === 'label' || parsed.field === 'segment' ? `query/${parsed.field}` : parsed.field === 'body' ? 'body' : `body/${parsed.field}`;
        throw new ApiError(parsed.tooLarge ? 413 : 400, parsed.tooLarge ? 'too_large' : 'invalid_dataset', `${field}: ${parsed.message}`, field);
      }
      const { dataset: d } = parsed;
      return await audited(app, request, { action: 'dataset.upload', targetType: 'dataset', targetId: m.name }, async (trx) => {
        const out = await createDataset(trx, {
          projectId: m.project_id, modelId: m.id, name: query.name ?? `${fmt}-${file.sha256.slice(0, 12)}`, sha256: file.sha256, format: fmt,
          sizeBytes: file.sizeBytes, rows: d.rows, columns: d.columns, label: d.label, segment: d.segment, artifactUri: file.uri,
          createdBy: principalOf(request).actor,
        });
        const summary = { id: out.dataset.id, name: out.dataset.name, sha256: out.dataset.sha256, format: fmt, rows: out.dataset.rows, created: out.created };
        return { result: out, after: summary, targetId: `${m.name}/${out.dataset.id}` };
      });
    } catch (err) {
      await discardIfUnreferenced(file, fmt);
      throw err;
    }
  }

  app.post<{ Params: Static<typeof ModelParams>; Querystring: Static<typeof DatasetUploadQuery> }>('/v1/models/:model/datasets', {
    config: { role: 'deployer', rawUpload: true },
    schema: {
      summary: 'Upload an evaluation dataset (CSV or JSON lines) for a model',
      description: 'The body is the file, streamed into the content-addressed artifact store with a size limit (SLUICE_MAX_DATASET_BYTES). '
        + 'Its columns must be exactly the features the model\'s contract reads, the label column and optionally a segment column; every cell '
        + 'must be of its input\'s type and every label a class of the model (or a finite target). The same bytes uploaded again answer 200 '
        + 'with the dataset they already are.',
      tags: ['datasets'],
      consumes: DATASET_CONTENT_TYPES,
      params: ModelParams,
      querystring: DatasetUploadQuery,
      body: Type.Unsafe<Readable>({ type: 'string', format: 'binary', [STREAM_BODY]: true }),
      response: withErrors({ 200: DatasetOut, 201: DatasetOut }, [404, 409, 413, 415]),
    },
  }, async (request, reply) => {
    const upload = { maxBytes: app.artifacts.maxDatasetBytes, what: 'dataset', howToSend: `send the file as the body with content-type ${DATASET_CONTENT_TYPES.join(' or ')}` };
    const source = uploadBody(request, upload);
    const format = formatOf(request.query, request.headers['content-type']);
    checkDeclaredLength(request, reply, upload);
    const model = await modelOf(app, request, request.params.model);
    const contract = model.contract;
    if (!contract) {
      throw new ApiError(409, 'conflict', `model ${model.name} has no contract yet: register a version first (its contract is inferred from it) or declare one`, 'model');
    }
    const stored = await receiveUpload(source, reply, (body) => app.artifacts.putDataset(body, format, { expectedSha256: request.query.sha256 }));

    const existing = await findDatasetBySha256(app.db, model.id, stored.sha256);
    if (existing) {
      try {
        checkSameReading(existing, request.query, format);
      } catch (err) {
        await discardIfUnreferenced(stored, format);
        throw err;
      }
      return reply.status(200).send(presentDataset(model, existing));
    }
    const { dataset, created } = await recordDataset(request, model, contract, stored, format);
    return reply.status(created ? 201 : 200).send(presentDataset(model, dataset));
  });

  app.get<{ Params: Static<typeof ModelParams>; Querystring: Static<typeof ListQuery> }>('/v1/models/:model/datasets', {
    config: { role: 'viewer' },
    schema: {
      summary: 'List a model\'s datasets, newest first',
      tags: ['datasets'],
      params: ModelParams,
      querystring: ListQuery,
      response: withErrors({ 200: Type.Object({ datasets: Type.Array(DatasetOut) }) }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    const rows = await listDatasets(app.db, model.id, request.query);
    return { datasets: rows.map((d) => presentDataset(model, d)) };
  });

  app.get<{ Params: Static<typeof DatasetParams> }>('/v1/models/:model/datasets/:id', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Get a dataset of a model',
      tags: ['datasets'],
      params: DatasetParams,
      response: withErrors({ 200: DatasetOut }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    const dataset = await findDataset(app.db, model.id, request.params.id);
    if (!dataset) throw new ApiError(404, 'not_found', `dataset ${request.params.id} of model ${model.name} not found`, 'id');
    return presentDataset(model, dataset);
  });

  app.put<{ Params: Static<typeof ModelParams>; Body: GoldenDatasetBody }>('/v1/models/:model/golden-dataset', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Make one of the model\'s datasets its golden set (or detach it with null)',
      description: 'Validation scores every later candidate on the attached dataset. It wins over rows set with PUT golden-set; '
        + 'setting rows there detaches the dataset again.',
      tags: ['datasets'],
      params: ModelParams,
      body: GoldenDatasetBody,
      response: withErrors({ 200: GoldenDatasetOut }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    return await audited(app, request, { action: 'model.golden_dataset', targetType: 'model', targetId: model.name }, async (trx) => {
      const row = await setGoldenDataset(trx, model.id, request.body.dataset);
      const dataset = request.body.dataset === null ? undefined : await findDataset(trx, model.id, request.body.dataset);
      return {
        result: { model: model.name, dataset: dataset ? presentDataset(row, dataset) : null },
        before: { dataset: model.golden_dataset_id }, after: { dataset: row.golden_dataset_id },
      };
    });
  });
};
