// The first schema. Frozen in time: never import from src/ here, so later code changes cannot
// rewrite history. Constraints make bad rows impossible rather than merely unlikely.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION sluice_weights_valid(w jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
      SELECT jsonb_typeof(w) = 'object' AND COALESCE((
        SELECT count(*) > 0
           AND bool_and(jsonb_typeof(value) = 'number' AND value::text::float8 BETWEEN 0 AND 1)
           AND abs(sum(value::text::float8) - 1) < 1e-6
        FROM jsonb_each(w)), false)
    $$;

    CREATE TABLE projects (
      id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
      name text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    INSERT INTO projects (id, name) VALUES ('default', 'Default project');

    CREATE TABLE models (
      id bigserial PRIMARY KEY,
      project_id text NOT NULL REFERENCES projects(id),
      -- Model names are global: serving workers address models by name in /v2/models/{name}.
      name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,127}$'),
      description text NOT NULL DEFAULT '',
      task text NOT NULL DEFAULT 'binary_classification',
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX models_project_idx ON models (project_id);

    CREATE TABLE model_versions (
      id bigserial PRIMARY KEY,
      model_id bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
      version text NOT NULL CHECK (version ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
      artifact_uri text NOT NULL,
      sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      size_bytes bigint NOT NULL CHECK (size_bytes > 0),
      signature jsonb NOT NULL,
      metadata jsonb NOT NULL DEFAULT '{}',
      training_data_ref text,
      reference_profile jsonb,
      metrics jsonb NOT NULL DEFAULT '{}',
      status text NOT NULL DEFAULT 'registered' CHECK (status IN
        ('registered', 'validating', 'validated', 'rejected', 'candidate', 'production', 'rolled_back', 'retired')),
      created_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (model_id, version)
    );
    -- The production alias: at most one production version per model.
    CREATE UNIQUE INDEX model_versions_one_production ON model_versions (model_id) WHERE status = 'production';

    CREATE TABLE traffic_generations (
      id bigserial PRIMARY KEY,
      model_id bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
      generation integer NOT NULL CHECK (generation > 0),
      -- {version: share}, shares in [0,1] summing to 1.
      weights jsonb NOT NULL CHECK (sluice_weights_valid(weights)),
      -- Experiment (id, salt, arms, targeting), shadow, segments: the routing spec beyond weights.
      spec jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(spec) = 'object'),
      reason text NOT NULL DEFAULT '',
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (model_id, generation)
    );

    -- Workers LISTEN on sluice_traffic and reconcile when a generation lands.
    CREATE FUNCTION sluice_notify_traffic() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('sluice_traffic', json_build_object(
        'model', (SELECT name FROM models WHERE id = NEW.model_id),
        'generation', NEW.generation)::text);
      RETURN NEW;
    END $$;
    CREATE TRIGGER traffic_generations_notify AFTER INSERT ON traffic_generations
      FOR EACH ROW EXECUTE FUNCTION sluice_notify_traffic();

    CREATE TABLE serving_workers (
      id text PRIMARY KEY,
      address text NOT NULL,
      admin_address text NOT NULL,
      device text NOT NULL CHECK (device IN ('cpu', 'cuda')),
      models jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(models) = 'array'),
      generations jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(generations) = 'object'),
      status text NOT NULL DEFAULT 'starting' CHECK (status IN ('starting', 'ready', 'draining', 'stopped')),
      started_at timestamptz NOT NULL DEFAULT now(),
      heartbeat_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX serving_workers_live_idx ON serving_workers (heartbeat_at) WHERE status IN ('starting', 'ready');

    CREATE TABLE rollouts (
      id text PRIMARY KEY,
      workflow_id text NOT NULL,
      model_id bigint NOT NULL REFERENCES models(id),
      candidate_version_id bigint NOT NULL REFERENCES model_versions(id),
      baseline_version_id bigint REFERENCES model_versions(id),
      policy jsonb NOT NULL,
      status text NOT NULL DEFAULT 'running' CHECK (status IN
        ('running', 'promoted', 'rolled_back', 'rejected', 'aborted', 'kept_baseline', 'failed')),
      phase text NOT NULL DEFAULT 'pending',
      outcome_reason text,
      started_by text NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now(),
      ended_at timestamptz,
      CHECK (candidate_version_id IS DISTINCT FROM baseline_version_id),
      CHECK ((status = 'running') = (ended_at IS NULL))
    );
    -- One active rollout per model (the workflow id rollout:<model> enforces it in Temporal too).
    CREATE UNIQUE INDEX rollouts_one_running ON rollouts (model_id) WHERE status = 'running';
    CREATE INDEX rollouts_model_idx ON rollouts (model_id, started_at DESC);

    CREATE TABLE rollout_steps (
      id bigserial PRIMARY KEY,
      rollout_id text NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
      -- seq is chosen by the workflow, so a retried activity writes the same row, not a second one.
      seq integer NOT NULL CHECK (seq >= 0),
      phase text NOT NULL,
      step text NOT NULL,
      verdict text NOT NULL CHECK (verdict IN ('successful', 'failed', 'inconclusive', 'error', 'info')),
      numbers jsonb NOT NULL DEFAULT '{}',
      reason text NOT NULL DEFAULT '',
      at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (rollout_id, seq)
    );

    CREATE TABLE experiments (
      id text PRIMARY KEY,
      rollout_id text NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
      model_id bigint NOT NULL REFERENCES models(id),
      kind text NOT NULL CHECK (kind IN ('ab', 'bandit')),
      salt text NOT NULL,
      arms jsonb NOT NULL CHECK (jsonb_typeof(arms) = 'array' AND jsonb_array_length(arms) >= 2),
      primary_metric text NOT NULL,
      config jsonb NOT NULL,
      status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'decided', 'stopped')),
      decision jsonb,
      started_at timestamptz NOT NULL DEFAULT now(),
      ended_at timestamptz
    );
    CREATE INDEX experiments_rollout_idx ON experiments (rollout_id);

    CREATE TABLE experiment_looks (
      id bigserial PRIMARY KEY,
      experiment_id text NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
      look integer NOT NULL CHECK (look >= 1),
      arm_stats jsonb NOT NULL,
      result jsonb NOT NULL,
      decision text NOT NULL CHECK (decision IN ('continue', 'promote', 'rollback', 'stop_no_effect')),
      at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (experiment_id, look)
    );

    -- Append-only and hot: no foreign keys, so logging never waits on registry locks.
    CREATE TABLE inference_log (
      id bigserial PRIMARY KEY,
      request_id text NOT NULL,
      at timestamptz NOT NULL,
      model text NOT NULL,
      version text NOT NULL,
      arm text,
      experiment_id text,
      routing_key_hash text,
      segment text,
      shadow boolean NOT NULL DEFAULT false,
      fallback boolean NOT NULL DEFAULT false,
      inputs real[],
      outputs real[],
      latency_us integer NOT NULL CHECK (latency_us >= 0),
      worker_id text NOT NULL
    );
    CREATE INDEX inference_log_model_at_idx ON inference_log (model, at);
    CREATE INDEX inference_log_experiment_idx ON inference_log (experiment_id, routing_key_hash) WHERE experiment_id IS NOT NULL;
    CREATE INDEX inference_log_request_idx ON inference_log (request_id);

    CREATE TABLE feedback (
      id bigserial PRIMARY KEY,
      model text NOT NULL,
      request_id text,
      routing_key_hash text,
      metric text NOT NULL CHECK (metric ~ '^[a-z][a-z0-9_]{0,63}$'),
      value double precision NOT NULL CHECK (value <> 'NaN' AND value <> 'Infinity' AND value <> '-Infinity'),
      at timestamptz NOT NULL DEFAULT now(),
      CHECK (request_id IS NOT NULL OR routing_key_hash IS NOT NULL)
    );
    CREATE INDEX feedback_request_idx ON feedback (request_id) WHERE request_id IS NOT NULL;
    CREATE INDEX feedback_key_idx ON feedback (model, routing_key_hash, metric) WHERE routing_key_hash IS NOT NULL;

    CREATE TABLE drift_reports (
      id bigserial PRIMARY KEY,
      model_id bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
      version_id bigint NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
      window_start timestamptz NOT NULL,
      window_end timestamptz NOT NULL,
      rows integer NOT NULL CHECK (rows >= 0),
      features jsonb NOT NULL,
      dataset_drift boolean NOT NULL,
      share_drifted double precision NOT NULL CHECK (share_drifted BETWEEN 0 AND 1),
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK (window_end > window_start)
    );
    CREATE INDEX drift_reports_model_idx ON drift_reports (model_id, created_at DESC);

    CREATE TABLE api_keys (
      id text PRIMARY KEY,
      project_id text NOT NULL REFERENCES projects(id),
      name text NOT NULL,
      role text NOT NULL CHECK (role IN ('viewer', 'deployer', 'approver', 'admin')),
      -- sha256 of the secret; the secret itself is shown once and never stored.
      secret_hash text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
      created_at timestamptz NOT NULL DEFAULT now(),
      disabled_at timestamptz,
      last_used_at timestamptz
    );

    CREATE TABLE audit_log (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      project_id text REFERENCES projects(id),
      actor text NOT NULL,
      action text NOT NULL,
      target_type text NOT NULL,
      target_id text NOT NULL,
      before jsonb,
      after jsonb,
      request_id text
    );
    CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE IF EXISTS audit_log, api_keys, drift_reports, feedback, inference_log, experiment_looks,
      experiments, rollout_steps, rollouts, serving_workers, traffic_generations, model_versions, models, projects;
    DROP FUNCTION IF EXISTS sluice_notify_traffic();
    DROP FUNCTION IF EXISTS sluice_weights_valid(jsonb);
  `.execute(db);
}
