-- App before 20261121_checks_endpoint: reads and writes checks.url.
INSERT INTO checks (name, url, interval_seconds) VALUES ('probe-old-' || gen_random_uuid(), 'https://old.example.com/health', 60);
UPDATE checks SET url = 'https://old.example.com/healthz' WHERE id = (SELECT max(id) FROM checks);
SELECT id, name, url FROM checks WHERE enabled ORDER BY id DESC LIMIT 20;
