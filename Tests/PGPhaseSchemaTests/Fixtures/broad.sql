-- Broad fixture for the schema readers: every object kind a SchemaSnapshot covers, on
-- PostgreSQL 15 and later (broad-18.sql adds what only 18 has). The tests load it with psql,
-- dump it, load the dump into a fresh database and dump again, and read both dumps and
-- pg_dump's output with the file reader.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS citext;
CREATE SCHEMA billing;
COMMENT ON SCHEMA billing IS 'Money things';
CREATE SCHEMA "Mixed Case";

-- Types: enum, composite, domains (NOT NULL, DEFAULT, collation, checks, a NOT VALID check).
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'it''s complicated');
COMMENT ON TYPE mood IS 'How it feels';
CREATE TYPE billing.money_pair AS (amount numeric(12,2), currency char(3), label text COLLATE "C");
CREATE DOMAIN posint AS integer NOT NULL DEFAULT 1 CONSTRAINT posint_positive CHECK (VALUE > 0);
COMMENT ON DOMAIN posint IS 'A positive integer';
ALTER DOMAIN posint ADD CONSTRAINT posint_small CHECK (VALUE < 1000000) NOT VALID;
CREATE DOMAIN billing.currency_code AS text COLLATE "C" CHECK (VALUE ~ '^[A-Z]{3}$') CHECK (length(VALUE) = 3);

-- Functions and procedures: plpgsql, sql, SQL-standard bodies, internal, OUT arguments,
-- defaults, every attribute, SET, bodies holding dollar signs.
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION touch_updated_at() IS 'Sets updated_at';
CREATE FUNCTION billing.net(amount numeric, rate numeric DEFAULT 0.2) RETURNS numeric
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT amount * (1 - rate)';
CREATE FUNCTION add_one(x integer) RETURNS integer LANGUAGE sql IMMUTABLE RETURN x + 1;
CREATE FUNCTION secure_thing() RETURNS setof integer LANGUAGE sql STABLE SECURITY DEFINER LEAKPROOF
  SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' COST 5 ROWS 10 AS $$ SELECT 1 $$;
CREATE FUNCTION split_pair(p billing.money_pair, OUT amount numeric, OUT currency text) LANGUAGE sql IMMUTABLE
  AS $$ SELECT p.amount, p.currency $$;
CREATE FUNCTION my_int4pl(integer, integer) RETURNS integer LANGUAGE internal IMMUTABLE STRICT AS 'int4pl';
CREATE FUNCTION dollar_body() RETURNS text LANGUAGE sql PARALLEL RESTRICTED AS $f$ SELECT 'costs $5' || '$$' $f$;
CREATE PROCEDURE billing.noop(IN a integer, INOUT b text) LANGUAGE plpgsql AS $$ BEGIN b := a::text; END $$;
COMMENT ON PROCEDURE billing.noop(integer, text) IS 'Does nothing';

-- Sequences: every option, descending, and one owned by a column (below).
CREATE SEQUENCE billing.invoice_number_seq AS integer START WITH 1000 INCREMENT BY 5 MINVALUE 10 MAXVALUE 99999999 CACHE 10 CYCLE;
COMMENT ON SEQUENCE billing.invoice_number_seq IS 'Invoice numbers';
CREATE SEQUENCE countdown INCREMENT BY -1;

-- Tables: identity (both kinds, with options), serial, generated, collations, arrays, enums,
-- domains, defaults calling functions, quoted names, every constraint kind.
CREATE TABLE customers (
  id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 10) PRIMARY KEY,
  email citext NOT NULL,
  name text COLLATE "C" NOT NULL,
  handle varchar(40),
  feeling mood DEFAULT 'ok',
  score posint,
  tags text[] DEFAULT '{}'::text[],
  moods mood[],
  doc tsvector,
  "Weird ""Name""" int DEFAULT add_one(41),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz,
  name_upper text GENERATED ALWAYS AS (upper(name)) STORED,
  CONSTRAINT customers_email_key UNIQUE (email),
  CONSTRAINT customers_handle_format CHECK (handle ~ '^[a-z0-9_]+$')
);
COMMENT ON TABLE customers IS 'People who pay (and it''s fine)';
COMMENT ON COLUMN customers.email IS 'Login, case-insensitive';
COMMENT ON CONSTRAINT customers_email_key ON customers IS 'One account per email';
COMMENT ON CONSTRAINT customers_handle_format ON customers IS 'Lower case handles';
ALTER TABLE customers REPLICA IDENTITY FULL;

CREATE TABLE billing.invoices (
  id serial PRIMARY KEY,
  number integer NOT NULL DEFAULT nextval('billing.invoice_number_seq'),
  customer_id bigint NOT NULL,
  amount numeric(12,2) NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'draft',
  period tstzrange,
  room int,
  note text,
  CONSTRAINT invoices_amount_nonnegative CHECK (amount >= 0),
  CONSTRAINT invoices_status_known CHECK (status IN ('draft', 'sent', 'paid')) NO INHERIT,
  CONSTRAINT invoices_number_key UNIQUE (number) DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT invoices_no_overlap EXCLUDE USING gist (room WITH =, period WITH &&) WHERE (status <> 'draft')
) WITH (fillfactor = 90);
ALTER TABLE billing.invoices ADD CONSTRAINT invoices_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id)
  ON DELETE RESTRICT ON UPDATE CASCADE DEFERRABLE;
ALTER TABLE billing.invoices ADD CONSTRAINT invoices_note_short CHECK (length(note) < 1000) NOT VALID;
COMMENT ON COLUMN billing.invoices.amount IS 'Gross amount';
COMMENT ON CONSTRAINT invoices_no_overlap ON billing.invoices IS 'One booking per room and time';

CREATE TABLE "Mixed Case"."Order Lines" (
  "Line ID" integer GENERATED BY DEFAULT AS IDENTITY,
  "invoiceId" integer NOT NULL REFERENCES billing.invoices (id) ON DELETE CASCADE,
  "Qty" smallint NOT NULL DEFAULT 1,
  "select" text,
  PRIMARY KEY ("Line ID") INCLUDE ("Qty") WITH (fillfactor = 80),
  UNIQUE NULLS NOT DISTINCT ("select", "Qty")
);
ALTER TABLE "Mixed Case"."Order Lines" ADD CONSTRAINT "lines_fk_NV" FOREIGN KEY ("invoiceId") REFERENCES billing.invoices (id)
  MATCH FULL NOT VALID;
ALTER TABLE "Mixed Case"."Order Lines" REPLICA IDENTITY USING INDEX "Order Lines_pkey";

CREATE UNLOGGED TABLE scratch (id int, payload jsonb, at timestamptz);
ALTER TABLE scratch REPLICA IDENTITY NOTHING;

-- Indexes with every option: unique, partial, expression, INCLUDE, operator class (with
-- parameters), collation, DESC NULLS FIRST/LAST, storage parameters, NULLS NOT DISTINCT, methods.
CREATE INDEX customers_lower_name_idx ON customers (lower(name) text_pattern_ops);
COMMENT ON INDEX customers_lower_name_idx IS 'For prefix search';
CREATE INDEX customers_created_desc_idx ON customers (created_at DESC NULLS LAST, id NULLS FIRST) WITH (fillfactor = 70);
CREATE INDEX customers_handle_partial_idx ON customers (handle COLLATE "C") INCLUDE (email)
  WHERE handle IS NOT NULL AND feeling <> 'sad';
CREATE UNIQUE INDEX customers_handle_nnd_idx ON customers (handle) NULLS NOT DISTINCT;
CREATE INDEX customers_expr_idx ON customers ((coalesce(handle, '') || name), ((created_at AT TIME ZONE 'UTC')::date));
CREATE INDEX customers_tags_gin ON customers USING gin (tags);
CREATE INDEX customers_doc_gist ON customers USING gist (doc tsvector_ops (siglen = '100'));
CREATE INDEX "customers_weird_IDX" ON customers ("Weird ""Name""" DESC, (add_one("Weird ""Name""")));
CREATE INDEX invoices_period_idx ON billing.invoices USING gist (period);
CREATE INDEX invoices_status_hash ON billing.invoices USING hash (status);
CREATE INDEX scratch_at_brin ON scratch USING brin (at) WITH (pages_per_range = 16);
CREATE UNIQUE INDEX scratch_id_partial ON scratch (id) WHERE id > 0 AND payload ? 'k';

-- Triggers: UPDATE OF, WHEN, statement level, disabled, replica, always, a constraint trigger.
CREATE TRIGGER customers_touch BEFORE UPDATE OF name, email ON customers FOR EACH ROW
  WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION touch_updated_at();
COMMENT ON TRIGGER customers_touch ON customers IS 'Keeps updated_at';
CREATE TRIGGER customers_audit AFTER INSERT OR DELETE ON customers FOR EACH STATEMENT EXECUTE FUNCTION touch_updated_at();
ALTER TABLE customers DISABLE TRIGGER customers_audit;
CREATE TRIGGER customers_replica AFTER UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
ALTER TABLE customers ENABLE REPLICA TRIGGER customers_replica;
CREATE TRIGGER customers_always AFTER DELETE ON customers FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
ALTER TABLE customers ENABLE ALWAYS TRIGGER customers_always;
CREATE CONSTRAINT TRIGGER invoices_check AFTER INSERT ON billing.invoices DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION touch_updated_at();

-- Statistics objects: columns, expressions, a target, another schema than the table's.
CREATE STATISTICS customers_stats (ndistinct, dependencies) ON handle, feeling FROM customers;
COMMENT ON STATISTICS customers_stats IS 'Correlated columns';
CREATE STATISTICS billing.invoice_expr_stats ON (amount * 2), status FROM billing.invoices;
ALTER STATISTICS billing.invoice_expr_stats SET STATISTICS 500;
CREATE STATISTICS public.invoice_mcv (mcv) ON customer_id, status FROM billing.invoices;

-- Partitions: range (with a default partition and a local default), list, hash, a multi-column
-- key with an expression; keys, indexes, foreign keys and triggers on partitioned tables.
CREATE TABLE measurements (
  id bigint NOT NULL,
  taken_at timestamptz NOT NULL,
  device text NOT NULL,
  value double precision CHECK (value > -1000),
  PRIMARY KEY (id, taken_at)
) PARTITION BY RANGE (taken_at);
CREATE TABLE measurements_2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE measurements_2027 PARTITION OF measurements (value DEFAULT 0) FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
CREATE TABLE measurements_other PARTITION OF measurements DEFAULT;
CREATE INDEX measurements_device_idx ON measurements (device);
COMMENT ON TABLE measurements_2026 IS 'This year';
CREATE TABLE regions (code text NOT NULL, name text) PARTITION BY LIST (code);
CREATE TABLE regions_eu PARTITION OF regions FOR VALUES IN ('de', 'fr', 'nl');
CREATE TABLE regions_us PARTITION OF regions FOR VALUES IN ('us');
CREATE TABLE shards (id bigint NOT NULL, body text) PARTITION BY HASH (id);
CREATE TABLE shards_0 PARTITION OF shards FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE shards_1 PARTITION OF shards FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE events (id bigint, at date, kind text) PARTITION BY RANGE (at, (lower(kind)));
CREATE TABLE events_a PARTITION OF events FOR VALUES FROM (MINVALUE, MINVALUE) TO ('2026-01-01', 'm');
CREATE TABLE fkp (id bigint, t date, ticket int, PRIMARY KEY (id, t)) PARTITION BY RANGE (t);
CREATE TABLE fkp_1 PARTITION OF fkp FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE reffkp (id bigint, t date, FOREIGN KEY (id, t) REFERENCES fkp (id, t));
CREATE TRIGGER fkp_trg BEFORE INSERT ON fkp FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Views in dependency order (a view over a view), options, CHECK OPTION, LATERAL, an INSTEAD OF
-- trigger, column comments, and a materialized view with an index.
CREATE VIEW active_customers AS SELECT id, email, name FROM customers WHERE feeling <> 'sad';
COMMENT ON VIEW active_customers IS 'Not sad';
COMMENT ON COLUMN active_customers.email IS 'From customers';
CREATE VIEW billing.customer_totals WITH (security_barrier) AS
  SELECT c.id, c.email, sum(i.amount) AS total
  FROM active_customers c JOIN billing.invoices i ON i.customer_id = c.id GROUP BY c.id, c.email;
CREATE VIEW open_invoices AS SELECT * FROM billing.invoices WHERE status <> 'paid' WITH CASCADED CHECK OPTION;
CREATE VIEW customer_counts WITH (security_invoker = true) AS SELECT count(*) AS n FROM customers;
CREATE VIEW writable_customers AS SELECT id, name FROM customers;
CREATE FUNCTION writable_customers_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER writable_customers_ins INSTEAD OF INSERT ON writable_customers FOR EACH ROW
  EXECUTE FUNCTION writable_customers_insert();
CREATE VIEW lateral_totals AS
  SELECT c.id, x.total FROM customers c,
    LATERAL (SELECT sum(i.amount) AS total FROM billing.invoices i WHERE i.customer_id = c.id) x;
CREATE MATERIALIZED VIEW billing.daily_revenue AS
  SELECT date_trunc('day', lower(period)) AS day, sum(amount) AS revenue FROM billing.invoices GROUP BY 1;
CREATE UNIQUE INDEX daily_revenue_day_idx ON billing.daily_revenue (day);
COMMENT ON MATERIALIZED VIEW billing.daily_revenue IS 'Revenue per day';

-- Functions that need tables: a SQL-standard body reading one, a result of a table's row type.
CREATE FUNCTION customer_count() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT count(*) FROM customers; END;
CREATE FUNCTION all_customers() RETURNS SETOF customers LANGUAGE sql STABLE AS $$ SELECT * FROM customers $$;

-- A sequence owned by a column, serial-style by hand.
CREATE TABLE tickets (id integer NOT NULL, title text);
CREATE SEQUENCE tickets_id_seq AS integer;
ALTER SEQUENCE tickets_id_seq OWNED BY tickets.id;
ALTER TABLE tickets ALTER COLUMN id SET DEFAULT nextval('tickets_id_seq');
ALTER TABLE tickets ADD PRIMARY KEY (id);
ALTER TABLE fkp ADD CONSTRAINT fkp_ticket_fkey FOREIGN KEY (ticket) REFERENCES tickets (id);

-- pgphase's own journal schema: never in a snapshot.
CREATE SCHEMA pgphase;
CREATE TABLE pgphase.journal (id int PRIMARY KEY, note text);
CREATE INDEX journal_note_idx ON pgphase.journal (note);
CREATE FUNCTION pgphase.helper() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE VIEW pgphase.journal_view AS SELECT id FROM pgphase.journal;
