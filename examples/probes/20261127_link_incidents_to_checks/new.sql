-- App after 20261127_link_incidents_to_checks: sets timeouts, links incidents to every affected check.
INSERT INTO checks (name, endpoint, interval_seconds, timeout_ms) VALUES ('probe-new-' || gen_random_uuid(), 'https://new.example.com/health', 60, 2000);
INSERT INTO incidents (title, severity, check_id) SELECT 'Probe: linked (new app)', 'critical', max(id) FROM checks;
INSERT INTO incident_affected_checks (incident_id, check_id) SELECT max(id), (SELECT max(id) FROM checks) FROM incidents;
SELECT c.name, c.timeout_ms, count(a.incident_id) AS incidents
FROM checks c LEFT JOIN incident_affected_checks a ON a.check_id = c.id GROUP BY c.id ORDER BY c.id DESC LIMIT 20;
