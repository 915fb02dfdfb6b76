-- App before 20261122_incident_impact_bigint: impact is an integer.
INSERT INTO incidents (title, severity, impact) VALUES ('Probe: impact (old app)', 'minor', 1200);
UPDATE incidents SET impact = impact + 10 WHERE id = (SELECT max(id) FROM incidents);
SELECT sum(impact) AS customer_minutes FROM incidents WHERE created_at > now() - interval '30 days';
