-- App before 20261125_unique_check_names: creates checks with (unique) generated names.
INSERT INTO checks (name, endpoint, interval_seconds) VALUES ('probe-old-' || gen_random_uuid(), 'https://old.example.com/health', 60);
SELECT id, name FROM checks WHERE name LIKE 'check-1%' ORDER BY id LIMIT 20;
