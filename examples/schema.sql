-- Base schema of the example status-page app, before any intent under examples/intents/ runs.
-- Apply with: psql -v ON_ERROR_STOP=1 -X -q -f examples/schema.sql
-- Seed data is deterministic (no random()) so demos and tests see the same rows every time.

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

-- Seed data -------------------------------------------------------------------------------------

-- 200 checks. Names repeat (check-0 .. check-149), so 50 are duplicates that 20261124 renames before
-- 20261125 makes names unique. Every tenth check has no interval.
INSERT INTO checks (name, url, interval_seconds, region, enabled, created_at)
SELECT 'check-' || (g % 150),
       'https://svc' || g || '.example.com/health',
       CASE WHEN g % 10 = 0 THEN NULL ELSE (ARRAY[30, 60, 300])[1 + g % 3] END,
       (ARRAY['us-east-1', 'eu-west-1', 'ap-south-1'])[1 + g % 3],
       g % 17 <> 0,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour'
FROM generate_series(1, 200) AS g;

-- 1000 incidents; every third one still open; some reporters unknown (NULL).
INSERT INTO incidents (title, status, created_at, resolved_at, reporter_email, impact, check_id, legacy_priority)
SELECT 'Incident ' || g || ': elevated error rate',
       CASE WHEN g % 3 = 0 THEN 'open' ELSE 'resolved' END,
       timestamptz '2026-02-01 00:00:00+00' + g * interval '37 minutes',
       CASE WHEN g % 3 = 0 THEN NULL
            ELSE timestamptz '2026-02-01 00:00:00+00' + g * interval '37 minutes' + interval '45 minutes' END,
       CASE WHEN g % 7 = 0 THEN NULL ELSE 'Oncall.User' || (g % 25) || '@Example.COM' END,
       (g * 97) % 100000,
       CASE WHEN g % 4 = 0 THEN NULL ELSE 1 + (g % 200) END,
       (1 + g % 5)::smallint
FROM generate_series(1, 1000) AS g;

-- 5000 check results spread over every check.
INSERT INTO check_results (check_id, status, latency_ms, checked_at)
SELECT 1 + (g % 200),
       CASE WHEN g % 50 = 0 THEN 'down' WHEN g % 20 = 0 THEN 'degraded' ELSE 'up' END,
       20 + (g * 31) % 900,
       timestamptz '2026-03-01 00:00:00+00' + g * interval '1 minute'
FROM generate_series(1, 5000) AS g;

-- 300 legacy notes.
INSERT INTO incident_notes_legacy (incident_id, note, noted_at)
SELECT 1 + (g % 1000), 'Legacy note ' || g, timestamptz '2026-02-02 00:00:00+00' + g * interval '2 hours'
FROM generate_series(1, 300) AS g;

ANALYZE;
