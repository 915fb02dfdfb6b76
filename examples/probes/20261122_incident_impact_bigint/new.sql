-- App after 20261122_incident_impact_bigint: still the name impact (no new_name), treated as bigint.
-- Values beyond the integer range are only safe after contract, so the probe stays below 2^31.
INSERT INTO incidents (title, severity, impact) VALUES ('Probe: impact (new app)', 'major', 2000000);
UPDATE incidents SET impact = impact + 1 WHERE id = (SELECT max(id) FROM incidents);
SELECT id, impact::bigint * 60 AS customer_seconds FROM incidents ORDER BY impact DESC LIMIT 10;
