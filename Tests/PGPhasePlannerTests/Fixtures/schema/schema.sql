-- The schema of the schema-aware planner tests and golden plans, as pg_dump --schema-only writes it.
CREATE TABLE public.customers (
    id bigint NOT NULL,
    email text NOT NULL
);
ALTER TABLE ONLY public.customers ADD CONSTRAINT customers_pkey PRIMARY KEY (id);
CREATE TABLE public.orders (
    id bigint NOT NULL,
    customer_id bigint NOT NULL,
    amount integer DEFAULT 0 NOT NULL,
    title character varying(200),
    status text DEFAULT 'open'::text NOT NULL
);
COMMENT ON COLUMN public.orders.title IS 'Shown on the invoice; it''s public';
ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
ALTER TABLE public.orders ADD CONSTRAINT orders_amount_check CHECK ((amount >= 0));
CREATE INDEX orders_customer_idx ON public.orders USING btree (customer_id);
ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_customer_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);
CREATE VIEW public.open_orders AS
 SELECT orders.id FROM public.orders WHERE (orders.customer_id > 0);
