-- App after 20261121_checks_endpoint: reads and writes checks.endpoint only.
INSERT INTO checks (name, endpoint, interval_seconds) VALUES ('probe-new-' || gen_random_uuid(), 'tcp://db.example.com:5432', 60);
UPDATE checks SET endpoint = 'tcp://db.example.com:6432' WHERE id = (SELECT max(id) FROM checks);
SELECT id, name, endpoint FROM checks WHERE enabled ORDER BY id DESC LIMIT 20;
