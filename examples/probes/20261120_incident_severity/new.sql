-- App after 20261120_incident_severity: sets severity, posts updates, lists open incidents.
INSERT INTO incidents (title, severity, reporter_email) VALUES ('Probe: checkout down (new app)', 'critical', 'probe.new@example.com');
INSERT INTO incident_updates (incident_id, body) SELECT max(id), 'Investigating elevated errors.' FROM incidents;
SELECT i.id, i.severity, count(u.id) AS updates
FROM incidents i LEFT JOIN incident_updates u ON u.incident_id = i.id
WHERE i.resolved_at IS NULL GROUP BY i.id ORDER BY i.created_at DESC LIMIT 20;
