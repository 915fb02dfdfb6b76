-- App after 20261129_tidy_catalog: the same writes; reads the comments it documents itself with.
INSERT INTO checks (name, endpoint, interval_seconds, timeout_ms) VALUES ('probe-new-' || gen_random_uuid(), 'https://new.example.com/health', 60, 1000);
SELECT obj_description('checks'::regclass, 'pg_class') AS about, col_description('checks'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'checks'::regclass AND attname = 'timeout_ms')) AS timeout_about;
