-- App before 20261127_link_incidents_to_checks: no timeout_ms, no incident_affected_checks.
INSERT INTO checks (name, endpoint, interval_seconds) VALUES ('probe-old-' || gen_random_uuid(), 'https://old.example.com/health', 60);
INSERT INTO incidents (title, severity, check_id) SELECT 'Probe: linked (old app)', 'major', max(id) FROM checks;
SELECT i.id, c.name FROM incidents i JOIN checks c ON c.id = i.check_id WHERE i.resolved_at IS NULL ORDER BY i.id DESC LIMIT 20;
