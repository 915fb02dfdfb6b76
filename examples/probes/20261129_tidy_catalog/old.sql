-- App before 20261129_tidy_catalog: writes checks and check runs as before; names no constraint.
INSERT INTO checks (name, endpoint, interval_seconds, timeout_ms) VALUES ('probe-old-' || gen_random_uuid(), 'https://old.example.com/health', 60, 500);
UPDATE check_runs SET latency_ms = latency_ms WHERE id = (SELECT max(id) FROM check_runs);
SELECT id, name, timeout_ms FROM checks ORDER BY id DESC LIMIT 20;
