-- Base schema of the example status-page app, before any intent under examples/intents/ runs,
-- followed by its seed data. Apply with: psql -v ON_ERROR_STOP=1 -X -q -f examples/schema.sql
--
-- The schema part is `pgphase schema dump` of a database loaded with this file (its canonical
-- form), so `plan --schema examples/schema.sql` writes plans/schema.sql with the base objects as
-- the dump of the migrated database prints them. To change it: edit, load into an empty database,
-- `pgphase schema dump --out FILE`, and put FILE's text above the seed data again.
--
-- What the intents do with it:
--   checks.url                       renamed to endpoint by 20261121_checks_endpoint
--   checks.interval_seconds          NULL for some legacy rows; 20261124_check_hygiene backfills it
--                                    and makes it NOT NULL
--   checks_interval_whitelist        legacy whitelist of intervals, dropped by 20261128_drop_legacy
--   checks.region's default          the implicit us-east-1, dropped by 20261128_drop_legacy
--   incidents.reporter_email         mixed case and sometimes NULL; 20261123_reporter_email_lowercase
--                                    normalises it
--   incidents.impact                 customer-minutes affected; 20261122_incident_impact_bigint widens
--                                    it to bigint
--   incidents.check_id               which check opened the incident; no foreign key yet
--                                    (20261127_link_incidents_to_checks adds one)
--   incidents.legacy_priority        unused since the severity column; dropped by 20261128_drop_legacy
--   check_results.latency_ms         NOT NULL for now; 20261126_check_result_timeouts relaxes it
--   check_results_checked_at_legacy_idx  superseded by the partial index of 20261126; dropped by
--                                    20261128_drop_legacy
--   incident_notes_legacy            free-text notes from the previous status page, replaced by
--                                    incident_updates; dropped by 20261128_drop_legacy
--   check_results                    renamed to check_runs by 20261129_rename_check_results
--
-- Seed data is deterministic (no random()) so demos and tests see the same rows every time.

SET check_function_bodies = false;
SET client_min_messages = warning;
SELECT pg_catalog.set_config('search_path', '', false);

CREATE SEQUENCE public.incident_notes_legacy_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE TABLE public.check_results (
    id bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.check_results_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1) NOT NULL,
    check_id bigint NOT NULL,
    status text NOT NULL,
    latency_ms integer NOT NULL,
    checked_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.checks (
    id bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.checks_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1) NOT NULL,
    name text NOT NULL,
    url text NOT NULL,
    interval_seconds integer,
    region text DEFAULT 'us-east-1'::text,
    enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT checks_interval_whitelist CHECK ((interval_seconds = ANY (ARRAY[30, 60, 300])))
);

CREATE TABLE public.incident_notes_legacy (
    id integer DEFAULT nextval('public.incident_notes_legacy_id_seq'::regclass) NOT NULL,
    incident_id bigint NOT NULL,
    note text NOT NULL,
    noted_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER SEQUENCE public.incident_notes_legacy_id_seq OWNED BY public.incident_notes_legacy.id;

CREATE TABLE public.incidents (
    id bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.incidents_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1) NOT NULL,
    title text NOT NULL,
    status text DEFAULT 'open'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    resolved_at timestamp with time zone,
    reporter_email text,
    impact integer DEFAULT 0 NOT NULL,
    check_id bigint,
    legacy_priority smallint
);

ALTER TABLE ONLY public.check_results ADD CONSTRAINT check_results_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.checks ADD CONSTRAINT checks_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.incident_notes_legacy ADD CONSTRAINT incident_notes_legacy_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.incidents ADD CONSTRAINT incidents_pkey PRIMARY KEY (id);

CREATE INDEX check_results_check_id_idx ON public.check_results USING btree (check_id, checked_at DESC);

CREATE INDEX check_results_checked_at_legacy_idx ON public.check_results USING btree (checked_at);

ALTER TABLE ONLY public.check_results ADD CONSTRAINT check_results_check_id_fkey FOREIGN KEY (check_id) REFERENCES public.checks(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.incident_notes_legacy ADD CONSTRAINT incident_notes_legacy_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES public.incidents(id);

-- The dump emptied search_path (every name above is qualified); the seed data uses the default.
RESET check_function_bodies;
RESET client_min_messages;
RESET search_path;

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
