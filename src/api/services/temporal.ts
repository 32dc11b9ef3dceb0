// The API's side of the lifecycle workflow: start it, query its state, send its updates. Errors
// from Temporal become ApiErrors here, so routes only say what they want done.
import { Client, Connection, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { TypedSearchAttributes, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { TASK_QUEUE, TEMPORAL_NAMESPACE } from '../../config.js';
import { modelSearchAttribute, phaseSearchAttribute, versionSearchAttribute } from '../../shared/search-attributes.js';
import {
  abortUpdate, approveUpdate, pauseUpdate, resumeUpdate, setWeightsUpdate, stateQuery,
  type ModelLifecycleInput, type OperatorAction, type RolloutState, type SetWeightsRequest,
} from '../../workflows/messages.js';
// The workflow function itself, not its name: the compiler checks the workflow type and its
// arguments. Importing it only defines functions (no workflow API runs outside a workflow).
import { modelLifecycle } from '../../workflows/lifecycle.js';
import { ApiError } from '../problem.js';

export interface TemporalOptions {
  /** A ready client (tests); otherwise one is made lazily for `address`. */
  client?: Client;
  address?: string;
  namespace?: string;
  taskQueue?: string;
  /** Base URL of the Temporal Web UI, for links to a rollout's workflow page. */
  uiUrl?: string | null;
  /** How long a query or update may take before the API answers 504. */
  timeoutMs?: number;
}

export type RolloutAction = 'pause' | 'resume' | 'abort' | 'approve';

const UPDATES = { pause: pauseUpdate, resume: resumeUpdate, abort: abortUpdate, approve: approveUpdate } as const;

export class RolloutControl {
  readonly namespace: string;
  readonly taskQueue: string;
  readonly uiUrl: string | null;
  private readonly timeoutMs: number;
  private client: Client | undefined;
  private connection: Connection | undefined;

  constructor(private readonly opts: TemporalOptions) {
    this.namespace = opts.namespace ?? TEMPORAL_NAMESPACE;
    this.taskQueue = opts.taskQueue ?? TASK_QUEUE;
    this.uiUrl = opts.uiUrl ?? null;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.client = opts.client;
  }

  get configured(): boolean {
    return this.client !== undefined || this.opts.address !== undefined;
  }

  private getClient(): Client {
    if (this.client) return this.client;
    if (!this.opts.address) throw new ApiError(503, 'temporal_unavailable', 'the API has no Temporal address (TEMPORAL_ADDRESS)');
    this.connection = Connection.lazy({ address: this.opts.address });
    this.client = new Client({ connection: this.connection, namespace: this.namespace });
    return this.client;
  }

  private async withTimeout<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = this.getClient();
    try {
      return await client.withDeadline(Date.now() + this.timeoutMs, () => fn(client));
    } catch (err) {
      throw translate(err);
    }
  }

  /**
   * Starts the lifecycle workflow; a workflow still running for the model is a 409. The caller has
   * found no running rollout row, so a workflow under the id is one whose rollout has ended and
   * that is closing (its last workflow task): that one is waited for, up to `closingWaitMs`.
   */
  async start(workflowId: string, input: ModelLifecycleInput, closingWaitMs = 10_000): Promise<{ runId: string }> {
    const deadline = Date.now() + closingWaitMs;
    for (;;) {
      try {
        return await this.startOnce(workflowId, input);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'rollout_running') || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private async startOnce(workflowId: string, input: ModelLifecycleInput): Promise<{ runId: string }> {
    return await this.withTimeout(async (client) => {
      const handle = await client.workflow.start(modelLifecycle, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [input],
        typedSearchAttributes: new TypedSearchAttributes([
          { key: modelSearchAttribute, value: input.model },
          { key: versionSearchAttribute, value: input.candidateVersion },
          { key: phaseSearchAttribute, value: 'pending' },
        ]),
      });
      return { runId: handle.firstExecutionRunId };
    });
  }

  async state(workflowId: string): Promise<RolloutState> {
    return await this.withTimeout((client) => client.workflow.getHandle(workflowId).query(stateQuery));
  }

  async act(workflowId: string, action: RolloutAction, by: OperatorAction): Promise<RolloutState> {
    return await this.withTimeout((client) => client.workflow.getHandle(workflowId).executeUpdate(UPDATES[action], { args: [by] }));
  }

  async setWeights(workflowId: string, request: SetWeightsRequest): Promise<RolloutState> {
    return await this.withTimeout((client) => client.workflow.getHandle(workflowId).executeUpdate(setWeightsUpdate, { args: [request] }));
  }

  /** Whether a workflow with this id is running now (false when closed or unknown). */
  async isRunning(workflowId: string): Promise<boolean> {
    try {
      const d = await this.withTimeout((client) => client.workflow.getHandle(workflowId).describe());
      return d.status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof ApiError && err.code === 'rollout_not_running') return false;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.connection) await this.connection.close().catch(() => undefined);
  }
}

function causeMessage(err: Error | undefined): string {
  let e: Error | undefined = err;
  while (e && (e as { cause?: Error }).cause && !e.message) e = (e as { cause?: Error }).cause;
  return e?.message || 'refused';
}

/** Temporal's errors as API errors: refusals are 409, an unreachable server 503, a slow one 504. */
export function translate(err: unknown): unknown {
  if (err instanceof ApiError) return err;
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return new ApiError(409, 'rollout_running', 'a rollout workflow is already running for this model', 'model');
  }
  if (err instanceof WorkflowUpdateFailedError) {
    return new ApiError(409, 'refused_by_workflow', causeMessage(err.cause));
  }
  if (err instanceof WorkflowNotFoundError) {
    return new ApiError(409, 'rollout_not_running', 'the rollout\'s workflow is not running');
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return new ApiError(504, 'temporal_timeout', 'the workflow did not answer in time (is the orchestrator worker running?)');
  }
  // The client wraps gRPC errors (ServiceError); the status code sits on the cause.
  const outer = err as { code?: number; message?: string; cause?: { code?: number; message?: string } } | null;
  const e = typeof outer?.code === 'number' ? outer : (outer?.cause ?? outer);
  const message = `${outer?.message ?? ''} ${e?.message ?? ''}`;
  // gRPC status codes: 4 DEADLINE_EXCEEDED, 14 UNAVAILABLE, 5 NOT_FOUND, 9 FAILED_PRECONDITION.
  if (e?.code === 4 || /deadline/i.test(message)) {
    return new ApiError(504, 'temporal_timeout', 'Temporal did not answer in time (is the orchestrator worker running?)');
  }
  if (e?.code === 14 || /ECONNREFUSED|UNAVAILABLE|failed to connect/i.test(message)) {
    return new ApiError(503, 'temporal_unavailable', 'Temporal is unreachable');
  }
  if (e?.code === 5 || /not found|already completed/i.test(message)) {
    return new ApiError(409, 'rollout_not_running', 'the rollout\'s workflow is not running');
  }
  if (/QueryFailed|query/i.test((err as Error)?.name ?? '')) {
    return new ApiError(409, 'query_failed', message || 'the workflow could not answer the query');
  }
  return err;
}
