-- The example status-page schema as it was written by hand (examples/schema.sql is now its
-- canonical `schema dump` form): expressions as a person writes them (`'open'`, `IN (30, 60, 300)`),
-- types by their short names, serial, keys and foreign keys on columns. ExpressionNormalizerTests
-- read it with the file reader and normalise it on a server that has it loaded.

CREATE TABLE checks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  url text NOT NULL,
  -- NULL for some legacy rows; 20261124_check_hygiene backfills and enforces it.
  interval_seconds integer,
  region text DEFAULT 'us-east-1',
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Legacy whitelist of intervals, dropped by 20261128_drop_legacy.
  CONSTRAINT checks_interval_whitelist CHECK (interval_seconds IN (30, 60, 300))
);

CREATE TABLE incidents (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  title text NOT NULL,
  status text NOT NULL DEFAULT 'open',
  created_at timestamptz NOT NULL DEFAULT now(),
  resolved_at timestamptz,
  -- Mixed case and sometimes NULL; 20261123_reporter_email_lowercase normalises it.
  reporter_email text,
  -- Customer-minutes affected; 20261122_incident_impact_bigint widens it to bigint.
  impact integer NOT NULL DEFAULT 0,
  -- Which check opened the incident; no foreign key yet (20261127_link_incidents_to_checks adds one).
  check_id bigint,
  -- Unused since the severity column; dropped by 20261128_drop_legacy.
  legacy_priority smallint
);

CREATE TABLE check_results (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  check_id bigint NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
  status text NOT NULL,
  -- NOT NULL for now; 20261126_check_result_timeouts relaxes it for timeouts.
  latency_ms integer NOT NULL,
  checked_at timestamptz NOT NULL DEFAULT now()
);

-- Superseded by the partial index of 20261126; dropped by 20261128_drop_legacy.
CREATE INDEX check_results_checked_at_legacy_idx ON check_results (checked_at);
CREATE INDEX check_results_check_id_idx ON check_results (check_id, checked_at DESC);

-- Free-text notes from the previous status page; replaced by incident_updates, dropped by 20261128_drop_legacy.
CREATE TABLE incident_notes_legacy (
  id serial PRIMARY KEY,
  incident_id bigint NOT NULL REFERENCES incidents (id),
  note text NOT NULL,
  noted_at timestamptz NOT NULL DEFAULT now()
);
