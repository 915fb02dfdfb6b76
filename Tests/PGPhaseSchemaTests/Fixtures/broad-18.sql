-- What only PostgreSQL 18 has, loaded after broad.sql on 18: virtual generated columns, and NOT
-- NULL as a named constraint (named, NOT VALID, NO INHERIT, with a comment).
CREATE TABLE v18 (
  a int CONSTRAINT v18_a_named NOT NULL,
  b int,
  c int GENERATED ALWAYS AS (a * 2) VIRTUAL,
  d int GENERATED ALWAYS AS (a * 3) STORED,
  e int NOT NULL NO INHERIT
);
ALTER TABLE v18 ADD CONSTRAINT v18_b_nn NOT NULL b NOT VALID;
