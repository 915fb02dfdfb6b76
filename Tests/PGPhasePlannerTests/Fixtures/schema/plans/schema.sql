-- pgphase schema dump: the schema in canonical form (sorted, one object per statement).
-- Load it with: psql -X -v ON_ERROR_STOP=1 -f FILE

SET check_function_bodies = false;
SET client_min_messages = warning;
SELECT pg_catalog.set_config('search_path', '', false);

CREATE TABLE public.customers (
    id bigint NOT NULL,
    email text NOT NULL
);

CREATE TABLE public.orders (
    id bigint NOT NULL,
    customer_id bigint NOT NULL,
    summary character varying(200),
    amount bigint DEFAULT 0 NOT NULL,
    state text DEFAULT 'open'::text NOT NULL,
    CONSTRAINT orders_amount_check CHECK ((amount >= 0))
);
COMMENT ON COLUMN public.orders.summary IS 'Shown on the invoice; it''s public';

ALTER TABLE ONLY public.customers ADD CONSTRAINT customers_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);

CREATE INDEX orders_customer_idx ON public.orders USING btree (customer_id);

CREATE INDEX orders_state_idx ON public.orders USING btree (state, summary);

CREATE VIEW public.open_orders AS
 SELECT orders.id FROM public.orders WHERE (orders.customer_id > 0);

ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_customer_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);
