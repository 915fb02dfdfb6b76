-- App before 20261124_check_hygiene: always sends an interval, tolerates duplicate names.
INSERT INTO checks (name, endpoint, interval_seconds) VALUES ('probe-old-' || gen_random_uuid(), 'https://old.example.com/health', 300);
UPDATE checks SET interval_seconds = 30 WHERE id = (SELECT max(id) FROM checks);
SELECT name, endpoint, coalesce(interval_seconds, 60) AS interval_seconds FROM checks WHERE enabled ORDER BY name LIMIT 20;
