-- App after 20261124_check_hygiene: relies on the 60 s default and on every check having an interval.
INSERT INTO checks (name, endpoint) VALUES ('probe-new-' || gen_random_uuid(), 'https://new.example.com/health');
SELECT id, name, interval_seconds * 1000 AS interval_ms FROM checks ORDER BY id DESC LIMIT 20;
