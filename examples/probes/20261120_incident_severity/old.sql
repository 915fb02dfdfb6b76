-- App before 20261120_incident_severity: knows nothing of severity or incident_updates.
INSERT INTO incidents (title, reporter_email) VALUES ('Probe: API latency (old app)', 'Probe.Old@Example.COM');
UPDATE incidents SET status = 'resolved', resolved_at = now() WHERE id = (SELECT max(id) FROM incidents);
SELECT id, title, status FROM incidents WHERE resolved_at IS NULL ORDER BY created_at DESC LIMIT 20;
